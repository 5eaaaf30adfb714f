"""config/limits.py holds the contract's limits: SERVICE.md's table and schema.graphql's ranges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import limits

ROOT = Path(__file__).resolve().parents[2]
SERVICE_MD = ROOT.parent / "shared" / "api" / "SERVICE.md"
CONTRACT = ROOT.parent / "shared" / "api" / "schema.graphql"
needs_contract = pytest.mark.skipif(
    not (SERVICE_MD.exists() and CONTRACT.exists()),
    reason="the shared contract is not beside the project",
)

# Each row of SERVICE.md's "Limits" table (by the start of its first cell) and
# the value column it must read with this module's constants.
TABLE_ROWS: dict[str, str] = {
    "query depth": f"{limits.MAX_QUERY_DEPTH}",
    "aliases per operation": f"{limits.MAX_QUERY_ALIASES}",
    "tokens per operation": f"{limits.MAX_QUERY_TOKENS}",
    "request body": f"{limits.MAX_REQUEST_BODY_BYTES // (1024 * 1024)} MiB",
    "`first` / `last`": f"0..{limits.MAX_PAGE_SIZE}, default {limits.DEFAULT_PAGE_SIZE}",
    "ids per `nodes`": f"{limits.MAX_IDS_PER_LOOKUP}",
    "items per `createTags`": f"1..{limits.MAX_TAGS_PER_BATCH}",
    "resources per add/remove": f"1..{limits.MAX_RESOURCES_PER_BATCH}",
    "tags per resource": f"{limits.MAX_TAGS_PER_RESOURCE}",
    "tags per workspace": f"{limits.MAX_TAGS_PER_WORKSPACE}",
    "hierarchy depth": f"0..{limits.MAX_TREE_DEPTH}",
    "(1.2) ids per `archiveTags`": f"1..{limits.MAX_ARCHIVE_IDS}",
    "(1.2) tags per `importTags` file": f"{limits.MAX_IMPORT_TAGS} (and the body limit)",
}

# Phrases of schema.graphql that state a range, as this module's constants spell them.
CONTRACT_PHRASES = [
    f"Display name as entered (after normalization), 1-{limits.MAX_NAME_LENGTH} characters.",
    f"and single hyphens, 1-{limits.MAX_SLUG_LENGTH} characters,",
    f"At most {limits.MAX_DESCRIPTION_LENGTH} characters; null when not set.",
    f"`location`; 1-{limits.MAX_CATEGORY_LENGTH} characters;",
    f"At most {limits.MAX_METADATA_BYTES} bytes when serialized",
    f"nesting depth at most {limits.MAX_METADATA_DEPTH} (the top object is depth 1)",
    f"depth 1-{limits.MAX_METADATA_KEY_LENGTH} characters",
    f"A workspace id is 1-{limits.MAX_WORKSPACE_ID_LENGTH} characters",
    f"Resource kind: 1-{limits.MAX_RESOURCE_TYPE_LENGTH} ASCII characters",
    f"Resource id in the host platform: 1-{limits.MAX_RESOURCE_ID_LENGTH} characters",
    f"A search longer than {limits.MAX_SEARCH_LENGTH}\n  characters matches nothing.",
    f"(1-{limits.MAX_TAG_IDS_PER_RESOURCE_FILTER} ids)",
    f"Merges 1-{limits.MAX_MERGE_SOURCES} source tags",
    f"at most {limits.MAX_TREE_DEPTH + 1} levels deep (depth 0 to {limits.MAX_TREE_DEPTH})",
    f"characters, at most {limits.MAX_ALIASES_PER_TAG}, in the order given.",
    f"`first`: 0-{limits.MAX_SIMILAR_TAGS}.",
    f"most the {limits.MAX_COUNTED_RESOURCES} most recently tagged of them.",
    f"(1.2) Tags to archive or restore (1-{limits.MAX_ARCHIVE_IDS} ids).",
    f"at most {limits.MAX_IMPORT_TAGS} tags and within the request body limit.",
]


def _limits_table(text: str) -> dict[str, str]:
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and not set(cells[1]) <= set("-") and cells[0] != "limit":
            rows[cells[0]] = cells[1]
    return rows


@needs_contract
def test_every_row_of_the_service_limits_table_has_its_constant() -> None:
    table = _limits_table(SERVICE_MD.read_text(encoding="utf-8"))
    matched: dict[str, str] = {}
    for label, value in table.items():
        starts = [row for row in TABLE_ROWS if label.startswith(row)]
        assert starts, f"SERVICE.md limit {label!r} has no constant in config/limits.py"
        matched[starts[0]] = value
    assert matched == TABLE_ROWS


@needs_contract
@pytest.mark.parametrize("phrase", CONTRACT_PHRASES)
def test_the_contract_states_each_range_as_the_constants_do(phrase: str) -> None:
    assert phrase in CONTRACT.read_text(encoding="utf-8")


def test_every_constant_is_named_for_what_it_limits() -> None:
    names = [n for n in vars(limits) if n.isupper()]
    assert names, "config/limits.py defines no limit"
    for name in names:
        assert re.fullmatch(r"(MAX|DEFAULT)_[A-Z_]+", name), name
        assert isinstance(getattr(limits, name), int), name
