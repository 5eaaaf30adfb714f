"""`tags-admin`: the operators' console.

    tags-admin keys create --name NAME --scopes S1,S2 --workspaces W1,W2
    tags-admin keys list
    tags-admin keys revoke ID
    tags-admin token create --sub SUB --scopes S1,S2 --workspaces W1,W2 [--expires 1h]
    tags-admin export-schema [PATH]
    tags-admin repair
    tags-admin seed-demo
    tags-admin export --workspace W --format json|csv|github-labels [FILE]
    tags-admin import --workspace W --format json|csv|github-labels [--create-only] [--dry-run] FILE

`token create` needs no store: it prints a development JWT signed with
TAGS_JWT_SECRET (with TAGS_JWT_ISSUER / TAGS_JWT_AUDIENCE as `iss` / `aud` when
set). The other commands reach the store through TAGS_MONGODB_URI / TAGS_MONGODB_DB; with no URI,
the embedded store in TAGS_DATA_DIR: the one the running service started, or,
when no service runs, one it starts for the length of the command.

(1.2) `export` and `import` do what exportTags and importTags do, as the
principal `tags-admin` (every scope, every workspace), with a progress bar on
a terminal and plain progress lines otherwise (cli/progress.py), on stderr.
`export` writes the file to FILE or to stdout. `import` prints what it did
(or, with --dry-run, what it would do), or every problem of the file with its
row, and then exits with 1, having changed nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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
    from resolvers.authorization import ADMIN_CLI_PRINCIPAL

    counts = await seed_demo(store, ADMIN_CLI_PRINCIPAL)
    print(
        f"workspace {WORKSPACE!r}: {counts['tags_created']} tags created, "
        f"{counts['associations_added']} associations added"
    )
    return 0


# (1.2) Tag files ---------------------------------------------------------------

FILE_FORMATS = {"json": "JSON", "csv": "CSV", "github-labels": "GITHUB_LABELS"}


async def _admin_context(store: Store) -> Any:
    from resolvers.authorization import ADMIN_CLI_PRINCIPAL
    from resolvers.context import make_context

    return make_context(None, ADMIN_CLI_PRINCIPAL, store, bus=await _event_bus(store))


async def _event_bus(store: Store) -> Any:
    """Where a running service's subscribers hear of the changes: the shared event log,
    when the store has change streams (as the service decides; none on a standalone)."""
    from resolvers.events.bus import SharedBus
    from storage.events import MongoEventLog, supports_change_streams

    if not await supports_change_streams(store.database):
        return None
    log = MongoEventLog(store.database)
    await log.ensure_indexes()
    return SharedBus(log, store.recovery)


def _where(field: Sequence[str] | None) -> str:
    """`["content", "3", "name"]` as a person reads it: `row 3, name`."""
    path = list(field or [])[1:]
    if not path:
        return "file"
    head = "header" if path[0] == "0" else f"row {path[0]}"
    return ", ".join([head, ".".join(path[1:])]) if len(path) > 1 else head


async def _export(store: Store, args: argparse.Namespace) -> int:
    from graphql import GraphQLError

    from cli.progress import Reporter
    from resolvers.tags.io.exporting import export_tags
    from resolvers.tags.io.rows import TagFileFormat

    ctx = await _admin_context(store)
    try:
        with Reporter("export") as progress:
            content, count = await export_tags(
                ctx, args.workspace, TagFileFormat(FILE_FORMATS[args.format]), progress
            )
    except GraphQLError as exc:
        print(f"tags-admin: {exc.message}", file=sys.stderr)
        return 2
    _write_text(args.file, content)
    where = "stdout" if args.file is None else args.file
    print(f"tags-admin: exported {count} tags of {args.workspace!r} to {where}", file=sys.stderr)
    return 0


def _write_text(path: str | None, content: str) -> None:
    """The file as exported, byte for byte (CSV keeps its CRLF); None: stdout."""
    if path is None:
        sys.stdout.write(content)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(content)


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as source:
            return source.read().decode("utf-8")
    except OSError as exc:
        print(f"tags-admin: cannot read {path}: {exc.strerror}", file=sys.stderr)
    except UnicodeDecodeError as exc:
        print(f"tags-admin: {path} is not UTF-8 text (byte {exc.start})", file=sys.stderr)
    return None


async def _import(store: Store, args: argparse.Namespace) -> int:
    from graphql import GraphQLError

    from cli.progress import Reporter
    from resolvers.errors import UserFailure
    from resolvers.tags.io.importing import import_tags
    from resolvers.tags.io.rows import ImportMode, TagFileFormat

    content = _read_text(args.file)
    if content is None:
        return 2
    ctx = await _admin_context(store)
    mode = ImportMode.CREATE_ONLY if args.create_only else ImportMode.MERGE
    try:
        with Reporter("import") as progress:
            done = await import_tags(
                ctx,
                args.workspace,
                TagFileFormat(FILE_FORMATS[args.format]),
                content,
                mode,
                args.dry_run,
                progress,
            )
    except UserFailure as failure:
        await ctx.finish_mutation(succeeded=False)
        for problem in failure.problems:
            print(f"tags-admin: {_where(problem.field)}: {problem.message}", file=sys.stderr)
        count = len(failure.problems)
        print(f"tags-admin: nothing was imported ({count} problems)", file=sys.stderr)
        return 1
    except GraphQLError as exc:
        await ctx.finish_mutation(succeeded=False)
        print(f"tags-admin: {exc.message}", file=sys.stderr)
        return 2
    await ctx.finish_mutation(succeeded=True)
    verb = "would create" if args.dry_run else "created"
    print(f"{verb} {done.created}, updated {done.updated}, unchanged {done.unchanged}")
    return 0


def _file_commands(commands: Any) -> None:
    formats = sorted(FILE_FORMATS)
    export = commands.add_parser("export", help="(1.2) write a workspace's tags as one file")
    export.add_argument("--workspace", required=True)
    export.add_argument("--format", required=True, choices=formats)
    export.add_argument("file", nargs="?", help="where to write it (default: stdout)")
    export.set_defaults(run=_export)
    load = commands.add_parser("import", help="(1.2) import tags from a file, all or nothing")
    load.add_argument("--workspace", required=True)
    load.add_argument("--format", required=True, choices=formats)
    load.add_argument("--create-only", action="store_true", help="leave matching tags alone")
    load.add_argument("--dry-run", action="store_true", help="say what it would do, write nothing")
    load.add_argument("file")
    load.set_defaults(run=_import)


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
    _file_commands(commands)
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
        embedded = start_or_attach(settings.data_dir, CONSOLE, settings.embedded_server)
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
