"""A tqdm progress bar for the CLI and the demo: (bar, update(done, total)) for embedding jobs."""

from __future__ import annotations

import sys


def progress_bar(desc: str):
    """A tqdm bar on stderr fed by (done, total) callbacks."""
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="tile", file=sys.stderr, dynamic_ncols=True, leave=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return bar, update

