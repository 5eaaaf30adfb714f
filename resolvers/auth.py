"""Principals, scopes and workspace authorization."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError

from resolvers.errors import BadUserInput, ErrorCode
from storage import AuthorizedWorkspace, Visibility

READ = "tags:read"
TAGGINGS_WRITE = "taggings:write"
WRITE = "tags:write"
ADMIN = "tags:admin"

# Each scope implies the ones before it.
SCOPE_ORDER = (READ, TAGGINGS_WRITE, WRITE, ADMIN)
ALL_WORKSPACES = "*"
MAX_WORKSPACE_ID = 128


def check_workspace_id(workspace_id: str) -> None:
    """Workspace ids are opaque, but a malformed one never reaches the store."""
    if not 1 <= len(workspace_id) <= MAX_WORKSPACE_ID or not workspace_id.isprintable():
        raise BadUserInput(f"workspaceId must be 1-{MAX_WORKSPACE_ID} printable characters.")


def expand_scopes(granted: tuple[str, ...]) -> frozenset[str]:
    ranks = [SCOPE_ORDER.index(s) for s in granted if s in SCOPE_ORDER]
    return frozenset(SCOPE_ORDER[: max(ranks) + 1]) if ranks else frozenset()


class Forbidden(GraphQLError):
    def __init__(self, message: str = "Not allowed.") -> None:
        super().__init__(message, extensions={"code": ErrorCode.FORBIDDEN.value})


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    scopes: tuple[str, ...]
    workspace_ids: tuple[str, ...]

    @property
    def effective_scopes(self) -> frozenset[str]:
        return expand_scopes(self.scopes)

    @property
    def visibility(self) -> Visibility:
        if ALL_WORKSPACES in self.workspace_ids:
            return Visibility(None)
        return Visibility(frozenset(self.workspace_ids))

    def require(self, scope: str) -> None:
        if scope not in self.effective_scopes:
            raise Forbidden(f"This operation needs the {scope} scope.")

    def workspace(self, workspace_id: str, scope: str) -> AuthorizedWorkspace:
        """The only way resolvers obtain a workspace the store will accept."""
        self.require(scope)
        check_workspace_id(workspace_id)
        if not self.visibility.sees(workspace_id):
            raise Forbidden("No access to this workspace.")
        return AuthorizedWorkspace(workspace_id)

    def workspace_of(self, workspace_id: str, scope: str) -> AuthorizedWorkspace | None:
        """For objects found by id: a workspace the caller cannot use looks like a missing one."""
        self.require(scope)
        return AuthorizedWorkspace(workspace_id) if self.visibility.sees(workspace_id) else None


DEV_PRINCIPAL = Principal(id="dev", scopes=SCOPE_ORDER, workspace_ids=(ALL_WORKSPACES,))
