"""What a server's planner does with a query: `explain` (executionStats), summarized.

Shared by bench/plans.py (bench/PLANS.md, both embedded servers side by side)
and tests/storage/test_query_plans.py (the page shapes on the Rust server).
Both SecantusDB servers answer `explain` in mongod's format: a `winningPlan`
tree of stages (`inputStage`, `inputStages`), `executionStats` with the keys
and documents examined and per-stage counts, and for an aggregate a `stages`
list whose first entry (`$cursor`) is the plan of its leading `$match`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# What the driver adds to a command, which `explain` does not take.
_DRIVER_FIELDS = frozenset(
    {"$db", "lsid", "$clusterTime", "txnNumber", "autocommit", "startTransaction",
     "readConcern", "writeConcern", "$readPreference", "apiVersion", "comment"}
)  # fmt: skip
SCANS = frozenset({"IXSCAN", "COLLSCAN", "COUNT_SCAN", "DISTINCT_SCAN", "IDHACK", "EXPRESS"})


@dataclass(frozen=True, slots=True)
class Plan:
    """One query's plan: how it reads, whether it sorts in memory, and what that cost."""

    scans: tuple[str, ...]
    # A SORT stage (find) or a `$sort` stage that the plan does not provide (aggregate).
    blocking_sort: bool
    # Documents the blocking sort took in, when the server counts them.
    sorted_in_memory: int | None
    keys_examined: int | None
    docs_examined: int | None
    returned: int | None

    @property
    def collscan(self) -> bool:
        return any(scan.startswith("COLLSCAN") for scan in self.scans)

    def describe(self) -> str:
        text = " + ".join(self.scans) or "?"
        if self.blocking_sort:
            sorted_count = "" if self.sorted_in_memory is None else f" of {self.sorted_in_memory}"
            text += f" + blocking SORT{sorted_count}"
        return text


def explainable(command: Mapping[str, Any]) -> dict[str, Any]:
    """The command as the driver sent it, without the fields `explain` refuses."""
    return {k: v for k, v in command.items() if k not in _DRIVER_FIELDS}


def _stages(stage: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    while stage:
        yield stage
        for child in stage.get("inputStages") or ():
            yield from _stages(child)
        stage = stage.get("inputStage")


def _scan_name(stage: Mapping[str, Any]) -> str:
    name = str(stage.get("stage", ""))
    index = stage.get("indexName")
    return f"{name} {index}" if index else name


def _sort_input(execution: Mapping[str, Any] | None) -> int | None:
    for stage in _stages(execution):
        if stage.get("stage") == "SORT":
            child = stage.get("inputStage") or {}
            count = child.get("nReturned")
            return None if count is None else int(count)
    # The Python server leaves the sort out of its stages: what they returned was sorted.
    count = (execution or {}).get("nReturned")
    return None if count is None else int(count)


def summarize(explain: Mapping[str, Any]) -> Plan:
    """The Plan of an `explain` answer (of a find, count or aggregate)."""
    pipeline_sort = False
    planner = explain.get("queryPlanner")
    stats = explain.get("executionStats")
    if "stages" in explain:
        stages = list(explain["stages"])
        cursor = stages[0].get("$cursor", {}) if stages else {}
        planner = cursor.get("queryPlanner", planner)
        stats = cursor.get("executionStats", stats)
        # A $sort after the cursor sorts in memory (after a $group, nothing else can).
        pipeline_sort = any("$sort" in stage for stage in stages[1:])
    winning = (planner or {}).get("winningPlan") or {}
    # mongod 7+ nests the classic plan under queryPlan.
    winning = winning.get("queryPlan", winning)
    scans = tuple(_scan_name(s) for s in _stages(winning) if s.get("stage") in SCANS)
    sort_stage = any(s.get("stage") == "SORT" for s in _stages(winning))
    stats = stats or {}
    return Plan(
        scans=scans,
        blocking_sort=sort_stage or pipeline_sort,
        sorted_in_memory=_sort_input(stats.get("executionStages")) if sort_stage else None,
        keys_examined=stats.get("totalKeysExamined"),
        docs_examined=stats.get("totalDocsExamined"),
        returned=stats.get("nReturned"),
    )


def explain(db: Any, command: Mapping[str, Any]) -> Plan:
    """Explain `command` (a find, count or aggregate) on a pymongo Database."""
    answer = db.command("explain", explainable(command), verbosity="executionStats")
    return summarize(answer)
