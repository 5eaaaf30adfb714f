"""`python -m schema.export PATH`: write the schema exported from the code."""

from __future__ import annotations

import sys
from pathlib import Path

from schema import build_schema


def exported_sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "schema.graphql")
    target.write_text(exported_sdl(), encoding="utf-8")
    print(f"wrote {target}")
