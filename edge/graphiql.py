"""GraphiQL served from the service itself, so it works with no internet access.

`python -m edge.graphiql install` fetches each pinned package with `npm pack`
(a tarball, no dependency tree, no lock file), checks every file against its
SRI hash and copies it into edge/vendor/. The page then loads them from
/graphiql-assets/ with the same integrity attributes. Without the local files
(npm absent at set-up), the stock CDN page is served instead.

Subscriptions need no asset of their own: graphiql.min.js (3.8) bundles the
graphql-ws client, and the stock page passes `subscriptionUrl` to
`createFetcher`, which opens graphql-ws on it with the Headers tab as the
connection_init payload (where the service reads credentials). A separate
`wsClient` would lose those headers. tests/edge/test_graphiql.py checks the
bundle still carries graphql-ws.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS = HERE / "graphiql-assets.json"
VENDOR = HERE / "vendor"
URL_PREFIX = "/graphiql-assets"


@dataclass(frozen=True, slots=True)
class Asset:
    package: str
    version: str
    file: str
    integrity: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def local_path(self) -> Path:
        return VENDOR / self.spec / self.file

    @property
    def cdn_url(self) -> re.Pattern[str]:
        """The stock page's absolute URL of this file, whichever CDN it names."""
        return re.compile(r"https://[^\s\"']+/" + re.escape(f"{self.spec}/{self.file}"))

    @property
    def local_url(self) -> str:
        return f"{URL_PREFIX}/{self.spec}/{self.file}"


def pinned() -> list[Asset]:
    return [Asset(**entry) for entry in json.loads(PINS.read_text(encoding="utf-8"))["assets"]]


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def installed(assets: list[Asset] | None = None) -> bool:
    """Every pinned file is present and matches its hash."""
    for asset in assets or pinned():
        path = asset.local_path
        if not path.is_file() or sri(path.read_bytes()) != asset.integrity:
            return False
    return True


def install() -> int:
    assets = pinned()
    if installed(assets):
        print("GraphiQL assets: already installed")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("GraphiQL assets: npm not found; GraphiQL will load from the CDN", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        for spec in sorted({a.spec for a in assets}):
            subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", scratch],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        tarballs = list(Path(scratch).glob("*.tgz"))
        for asset in assets:
            data = _extract(tarballs, asset)
            if sri(data) != asset.integrity:
                print(
                    f"GraphiQL assets: {asset.spec}/{asset.file} fails its integrity check",
                    file=sys.stderr,
                )
                return 1
            asset.local_path.parent.mkdir(parents=True, exist_ok=True)
            asset.local_path.write_bytes(data)
    print(f"GraphiQL assets: installed {len(assets)} files into {VENDOR.relative_to(HERE.parent)}")
    return 0


def _extract(tarballs: list[Path], asset: Asset) -> bytes:
    # npm names a scoped package's tarball "graphiql-plugin-explorer-1.0.2.tgz".
    stem = asset.package.lstrip("@").replace("/", "-") + f"-{asset.version}.tgz"
    tarball = next(t for t in tarballs if t.name == stem)
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/{asset.file}")
        if member is None:
            raise FileNotFoundError(f"{asset.spec} has no {asset.file}")
        return member.read()


# What GraphiQL opens with (the README's screenshot): a tag picker on the demo
# workspace that `make demo` seeds. A URL's `?q=` still takes precedence.
DEFAULT_QUERY = """# The tag picker of a single-page app, on the
# demo workspace that make demo seeds. Run it
# with the play button or Ctrl-Enter.
query TagPicker {
  tags(workspaceId: "demo", filter: {search: "p"}, first: 20) {
    totalCount
    nodes { name color parent { name } usageCount }
  }
}
"""
_STOCK_EXAMPLE = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)


def graphiql_page(stock_html: str) -> str:
    """The stock GraphiQL page, opening on DEFAULT_QUERY, pointed at the local
    copies of its files when they are installed."""
    # It goes inside a JavaScript template literal, where these would mean something.
    assert not any(c in DEFAULT_QUERY for c in ("`", "\\", "${"))
    page = _STOCK_EXAMPLE.sub(lambda _: f"const EXAMPLE_QUERY = `{DEFAULT_QUERY}`;", stock_html)
    assets = pinned()
    if not installed(assets):
        return page
    for asset in assets:
        page = asset.cdn_url.sub(asset.local_url, page)
    return page


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        print("usage: python -m edge.graphiql install", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(install())
