"""`tags-admin`: the operators' console.

    tags-admin keys create --name NAME --scopes S1,S2 --workspaces W1,W2
    tags-admin keys list
    tags-admin keys revoke ID
    tags-admin export-schema [PATH]
    tags-admin repair
    tags-admin seed-demo

It reaches the store through TAGS_MONGODB_URI / TAGS_MONGODB_DB; with no URI,
the embedded store in TAGS_DATA_DIR: the one the running service started, or,
when no service runs, one it starts for the length of the command.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from resolvers.auth import ALL_WORKSPACES, SCOPE_ORDER
from resolvers.clock import now
from resolvers.credentials import hash_key, new_api_key
from settings import Settings, SettingsError
from storage import Store, open_store
from storage.embedded import CONSOLE, EmbeddedStoreError, start_or_attach


def _list_arg(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


async def create_key(
    store: Store, name: str, scopes: Sequence[str], workspaces: Sequence[str]
) -> str:
    key_id, key = new_api_key()
    await store.api_keys.insert(key_id, name, hash_key(key), scopes, workspaces, now())
    return key


async def _keys_create(store: Store, args: argparse.Namespace) -> int:
    scopes = _list_arg(args.scopes)
    unknown = [s for s in scopes if s not in SCOPE_ORDER]
    if unknown or not scopes:
        print(f"tags-admin: scopes must be among {', '.join(SCOPE_ORDER)}", file=sys.stderr)
        return 2
    workspaces = _list_arg(args.workspaces)
    if not workspaces:
        print(f"tags-admin: give --workspaces (or {ALL_WORKSPACES} for all)", file=sys.stderr)
        return 2
    # The key alone on its own line: it is shown this once and never stored.
    print(await create_key(store, args.name, scopes, workspaces))
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
    from demo import WORKSPACE, seed_demo

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
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default="schema.graphql")
    commands.add_parser("repair", help="finish interrupted work, recount").set_defaults(run=_repair)
    commands.add_parser("seed-demo", help="create the demo workspace").set_defaults(run=_seed_demo)
    return parser


async def _run(args: argparse.Namespace, settings: Settings, uri: str) -> int:
    store = open_store(uri, settings.mongodb_db)
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
