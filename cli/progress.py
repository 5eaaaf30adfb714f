"""Progress of a long `tags-admin` command: a bar on a terminal, plain lines otherwise.

The commands report `(stage, done, total)` as the work goes (see
resolvers/tags/io/importing.py's `Progress`). On a terminal that is a rich
progress bar on stderr; piped or redirected (a CI log, a cron mail), one
plain line per report, so logs stay readable and stdout keeps only the
command's own output.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Reporter:
    """Call it with (stage, done, total); use it as a context manager around the work."""

    def __init__(self, what: str, stream: TextIO | None = None, terminal: bool | None = None):
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last: tuple[str, int, int] | None = None

    def __enter__(self) -> Reporter:
        if self.terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream, force_terminal=True),
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=None)
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if (stage, done, total) == self._last:
            return
        self._last = (stage, done, total)
        if self._bar is not None and self._task is not None:
            self._bar.update(
                self._task, description=f"{self.what}: {stage}", completed=done, total=total or None
            )
        else:
            counted = f" {done} of {total} tags" if total else ""
            print(f"tags-admin: {self.what}: {stage}{counted}", file=self.stream, flush=True)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
