"""Progress of long runs on stderr when it is a terminal, silent otherwise: a bar for a figure's work list,
one line per item begun for work whose items run in worker processes (``verify``) or are few and slow
(``derive``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TextIO, TypeVar

T = TypeVar("T")

WIDTH = 30


class Progress:
    """Counts the items of a work list; ``enabled`` None means: when ``stream`` is a terminal."""

    def __init__(self, label: str, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def _draw(self, done: int, total: int) -> None:
        filled = WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (WIDTH - filled)
        # A carriage return redraws the line in place; the last draw ends it.
        end = "\n" if done == total else ""
        self.stream.write(f"\r{self.label:<16} [{bar}] {done}/{total}{end}")
        self.stream.flush()

    def iterate(self, items: Sequence[T]) -> Iterator[T]:
        """Yield ``items`` in order, advancing the bar after each one is processed."""
        if self.enabled:
            self._draw(0, len(items))
        for done, item in enumerate(items, start=1):
            yield item
            if self.enabled:
                self._draw(done, len(items))

    def begin(self, index: int, total: int, name: str) -> None:
        """Announce that item ``index`` of ``total`` begins, as the line "[index/total] name ...": a whole
        line, so that the lines of several worker processes, and the command's own output, do not overwrite
        one another."""
        if self.enabled:
            self.stream.write(f"[{index}/{total}] {name} ...\n")
            self.stream.flush()
