"""What a caller may reach, in the form storage entry points accept.

Storage functions that read or write a workspace take an `AuthorizedWorkspace`;
those that look tags up by id take a `Visibility` and filter on it. Both are
made by the auth layer only after checking the principal, so a resolver cannot
reach the store with a raw, unchecked workspace id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AuthorizedWorkspace:
    id: str


@dataclass(frozen=True, slots=True)
class Visibility:
    """Workspaces a principal may see; `None` means every workspace."""

    workspaces: frozenset[str] | None

    def sees(self, workspace_id: str) -> bool:
        return self.workspaces is None or workspace_id in self.workspaces

    def restrict(self, query: dict[str, Any]) -> dict[str, Any]:
        if self.workspaces is not None:
            query["ws"] = {"$in": sorted(self.workspaces)}
        return query


EVERYTHING = Visibility(None)
