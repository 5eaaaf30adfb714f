"""`tags-admin`: the operators' console.

    tags-admin keys create --name NAME --scopes S1,S2 --workspaces W1,W2
    tags-admin keys list
    tags-admin keys revoke ID
    tags-admin token create --sub SUB --scopes S1,S2 --workspaces W1,W2 [--expires 1h]
    tags-admin export-schema [PATH]
    tags-admin repair
    tags-admin seed-demo

`token create` needs no store: it prints a development JWT signed with
TAGS_JWT_SECRET (with TAGS_JWT_ISSUER / TAGS_JWT_AUDIENCE as `iss` / `aud` when
set). The other commands reach the store through TAGS_MONGODB_URI / TAGS_MONGODB_DB; with no URI,
the embedded store in TAGS_DATA_DIR: the one the running service started, or,
when no service runs, one it starts for the length of the command.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from config.settings import Settings, SettingsError
from edge.authentication import hash_key, new_api_key
from resolvers.authorization import ALL_WORKSPACES, SCOPE_ORDER, valid_workspace_id
from resolvers.clock import now
from storage import Store, open_store
from storage.embedded import CONSOLE, EmbeddedStoreError, start_or_attach


def _list_arg(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _check_scopes_and_workspaces(scopes: Sequence[str], workspaces: Sequence[str]) -> str | None:
    """What is wrong with --scopes / --workspaces, or None."""
    unknown = [s for s in scopes if s not in SCOPE_ORDER]
    if unknown or not scopes:
        return f"scopes must be among {', '.join(SCOPE_ORDER)}"
    if not workspaces:
        return f"give --workspaces (or {ALL_WORKSPACES} for all)"
    # A malformed id could never be asked for, so the grant would be silently useless.
    malformed = [w for w in workspaces if w != ALL_WORKSPACES and not valid_workspace_id(w)]
    if malformed:
        return (
            f"not a workspace id: {', '.join(map(repr, malformed))} "
            "(1-128 of ASCII letters, digits, _ - . :)"
        )
    return None


async def create_key(
    store: Store, name: str, scopes: Sequence[str], workspaces: Sequence[str]
) -> str:
    key_id, key = new_api_key()
    await store.api_keys.insert(key_id, name, hash_key(key), scopes, workspaces, now())
    return key


async def _keys_create(store: Store, args: argparse.Namespace) -> int:
    scopes, workspaces = _list_arg(args.scopes), _list_arg(args.workspaces)
    problem = _check_scopes_and_workspaces(scopes, workspaces)
    if problem:
        print(f"tags-admin: {problem}", file=sys.stderr)
        return 2
    # The key alone on its own line: it is shown this once and never stored.
    print(await create_key(store, args.name, scopes, workspaces))
    return 0


_DURATION = re.compile(r"([1-9][0-9]*)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TOKEN_SECONDS = 366 * 86400


def parse_duration(raw: str) -> int | None:
    """`90`, `90s`, `15m`, `1h`, `7d` in seconds; None when malformed or over a year."""
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        return None
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    return seconds if seconds <= MAX_TOKEN_SECONDS else None


def make_token(
    settings: Settings,
    sub: str,
    scopes: Sequence[str],
    workspaces: Sequence[str],
    seconds: int,
    issued_at: int | None = None,
) -> str:
    """A bearer JWT the service configured by `settings` accepts (HS256)."""
    import jwt

    if not settings.jwt_secret:
        raise ValueError("TAGS_JWT_SECRET is not set")
    iat = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, object] = {
        "sub": sub,
        "iat": iat,
        "exp": iat + seconds,
        "scope": " ".join(scopes),
        "workspaces": list(workspaces),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _token_create(args: argparse.Namespace, settings: Settings) -> int:
    sub = args.sub.strip()
    scopes, workspaces = _list_arg(args.scopes), _list_arg(args.workspaces)
    seconds = parse_duration(args.expires)
    problem = _check_scopes_and_workspaces(scopes, workspaces)
    if problem is None and not sub:
        problem = "--sub must not be empty"
    if problem is None and seconds is None:
        problem = "--expires takes a duration such as 90s, 15m, 1h or 7d (at most 366d)"
    if problem is None and not settings.jwt_secret:
        problem = (
            "token create signs with TAGS_JWT_SECRET, which is not set; set the secret the "
            "service runs with (RS256/ES256 tokens come from whoever holds the private key "
            "of TAGS_JWT_PUBLIC_KEY)"
        )
    if problem or seconds is None:
        print(f"tags-admin: {problem}", file=sys.stderr)
        return 2
    issued = int(time.time())
    # The token alone on stdout, so that `TOKEN=$(tags-admin token create …)` works.
    print(make_token(settings, sub, scopes, workspaces, seconds, issued))
    until = datetime.fromtimestamp(issued + seconds, UTC).isoformat(timespec="seconds")
    print(f"tags-admin: a development token for {sub!r}, valid until {until}", file=sys.stderr)
    return 0


async def _keys_list(store: Store, args: argparse.Namespace) -> int:
    for doc in await store.api_keys.all():
        state = "revoked" if doc.get("revokedAt") else "active"
        print(
            f"{doc['_id']}\t{state}\t{doc['name']}\t{','.join(doc['scopes'])}\t"
            f"{','.join(doc['workspaces'])}\t{doc['createdAt'].isoformat()}Z"
        )
    return 0


async def _keys_revoke(store: Store, args: argparse.Namespace) -> int:
    if await store.api_keys.revoke(args.id, now()):
        print(f"revoked {args.id}")
        return 0
    print(f"tags-admin: no active key {args.id}", file=sys.stderr)
    return 1


async def _repair(store: Store, args: argparse.Namespace) -> int:
    from storage.repair import print_report, repair

    print_report(await repair(store))
    return 0


async def _seed_demo(store: Store, args: argparse.Namespace) -> int:
    from demo.seed import WORKSPACE, seed_demo

    counts = await seed_demo(store)
    print(
        f"workspace {WORKSPACE!r}: {counts['tags_created']} tags created, "
        f"{counts['associations_added']} associations added"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tags-admin", description="Tags service administration")
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated scopes")
    create.add_argument("--workspaces", required=True, help="comma-separated workspace ids, or *")
    create.set_defaults(run=_keys_create)
    keys.add_parser("list", help="list keys (never the keys themselves)").set_defaults(
        run=_keys_list
    )
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")
    revoke.set_defaults(run=_keys_revoke)
    token = commands.add_parser("token", help="development JWTs").add_subparsers(
        dest="action", required=True
    )
    mint = token.add_parser("create", help="print a JWT signed with TAGS_JWT_SECRET")
    mint.add_argument("--sub", required=True, help="the principal's id (the `sub` claim)")
    mint.add_argument("--scopes", required=True, help="comma-separated scopes")
    mint.add_argument("--workspaces", required=True, help="comma-separated workspace ids, or *")
    mint.add_argument("--expires", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default 1h)")
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default="schema.graphql")
    commands.add_parser("repair", help="finish interrupted work, recount").set_defaults(run=_repair)
    commands.add_parser("seed-demo", help="create the demo workspace").set_defaults(run=_seed_demo)
    return parser


async def _run(args: argparse.Namespace, settings: Settings, uri: str) -> int:
    store = open_store(uri, settings.mongodb_db, history_days=settings.history_days)
    try:
        await store.ensure_indexes()
        return int(await args.run(store, args))
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "export-schema":
        from pathlib import Path

        from schema.export import exported_sdl

        Path(args.path).write_text(exported_sdl(), encoding="utf-8")
        print(f"wrote {args.path}")
        return 0
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"tags-admin: bad configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "token":
        return _token_create(args, settings)
    if settings.mongodb_uri is not None:
        return asyncio.run(_run(args, settings, settings.mongodb_uri))
    try:
        embedded = start_or_attach(settings.data_dir, CONSOLE)
    except EmbeddedStoreError as exc:
        print(f"tags-admin: the embedded store could not start: {exc}", file=sys.stderr)
        return 1
    if embedded.owned:
        print(
            f"tags-admin: no service is running on {settings.data_dir}; "
            "started its embedded store for this command",
            file=sys.stderr,
        )
    try:
        return asyncio.run(_run(args, settings, embedded.uri))
    finally:
        embedded.stop()


if __name__ == "__main__":
    raise SystemExit(main())
