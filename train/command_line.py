"""What every train/ command line shares: one-line errors, progress on stderr, outputs written atomically."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.errors import NotFoundError, UserError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def progress(items: Iterable, desc: str, unit: str = "image") -> Iterable:
    """A tqdm bar on stderr around ``items`` (off when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=None)


def run_cli(action: Callable[[], int]) -> int:
    """Run a CLI body: a UserError prints ``error: ...`` as one line and exits 2; Ctrl-C exits 130."""
    try:
        return action()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


@contextmanager
def atomic_output(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces ``path`` only when the block succeeds.

    So an error or Ctrl-C never leaves a partial output behind.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise NotFoundError(f"folder {path.parent} does not exist: create it or write elsewhere")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, permissions(0o666))  # mkstemp makes it private; the output is an ordinary file
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def permissions(base: int) -> int:
    """``base`` (0o666 for files, 0o777 for folders) less the process umask, as ``open`` would give."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


@contextmanager
def atomic_folder(dest: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``dest`` that replaces ``dest`` whole only when the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
