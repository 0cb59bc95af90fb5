"""A tqdm progress bar for the CLI and the demo: (bar, update(done, total)) for embedding jobs."""

from __future__ import annotations

import sys


class _LazyBar:
    """A tqdm bar on stderr drawn at the first update, so lines printed before the job starts (the
    estimate) come before it rather than through it."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self._bar = None

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.desc, unit="tile", file=sys.stderr, dynamic_ncols=True,
                             leave=True)
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def progress_bar(desc: str):
    """A bar on stderr fed by (done, total) callbacks: returns (bar with ``close()``, update)."""
    bar = _LazyBar(desc)
    return bar, bar.update
