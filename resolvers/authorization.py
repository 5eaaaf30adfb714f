"""Principals, scopes and workspace authorization."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import GraphQLError

from config.limits import MAX_WORKSPACE_ID_LENGTH
from i18n import N_, msg
from resolvers.errors import BadUserInput, ErrorCode
from storage import AuthorizedWorkspace, Visibility

READ = "tags:read"
TAGGINGS_WRITE = "taggings:write"
WRITE = "tags:write"
ADMIN = "tags:admin"

# Each scope implies the ones before it.
SCOPE_ORDER = (READ, TAGGINGS_WRITE, WRITE, ADMIN)
ALL_WORKSPACES = "*"
# The contract's rule. Nothing is trimmed or folded: " demo" or "Demo " would
# otherwise name a second, silently empty workspace.
WORKSPACE_ID = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_WORKSPACE_ID_LENGTH}}}")


def valid_workspace_id(workspace_id: str) -> bool:
    return WORKSPACE_ID.fullmatch(workspace_id) is not None


def check_workspace_id(workspace_id: str) -> None:
    """Run before any store call, so a malformed id never reaches the store."""
    if not valid_workspace_id(workspace_id):
        shown = workspace_id if len(workspace_id) <= 40 else workspace_id[:40] + "…"
        raise BadUserInput(
            msg(
                "workspaceId {id} is not a workspace id: 1-{max} characters of "
                "ASCII letters, digits, '_', '-', '.' and ':'.",
                id=repr(shown),
                max=MAX_WORKSPACE_ID_LENGTH,
            )
        )


def expand_scopes(granted: tuple[str, ...]) -> frozenset[str]:
    ranks = [SCOPE_ORDER.index(s) for s in granted if s in SCOPE_ORDER]
    return frozenset(SCOPE_ORDER[: max(ranks) + 1]) if ranks else frozenset()


class Forbidden(GraphQLError):
    def __init__(self, message: str = N_("Not allowed.")) -> None:
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
            raise Forbidden(msg("This operation needs the {scope} scope.", scope=scope))

    def workspace(self, workspace_id: str, scope: str) -> AuthorizedWorkspace:
        """The only way resolvers obtain a workspace the store will accept."""
        check_workspace_id(workspace_id)
        self.require(scope)
        if not self.visibility.sees(workspace_id):
            raise Forbidden("No access to this workspace.")
        return AuthorizedWorkspace(workspace_id)

    def workspace_of(self, workspace_id: str, scope: str) -> AuthorizedWorkspace | None:
        """For objects found by id: a workspace the caller cannot use looks like a missing one."""
        self.require(scope)
        return AuthorizedWorkspace(workspace_id) if self.visibility.sees(workspace_id) else None


DEV_PRINCIPAL = Principal(id="dev", scopes=SCOPE_ORDER, workspace_ids=(ALL_WORKSPACES,))
# (1.2) The actor the history records for changes made with the `tags-admin` CLI.
ADMIN_CLI_ACTOR = "tags-admin"
ADMIN_CLI_PRINCIPAL = Principal(
    id=ADMIN_CLI_ACTOR, scopes=SCOPE_ORDER, workspace_ids=(ALL_WORKSPACES,)
)
