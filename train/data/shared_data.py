"""Where the real data sets live and how their tars are unpacked once into a cache.

``../shared/data`` beside the repository (or ``$REMOTECLIP_DATA``) holds the research data; it is
never copied into the product. Tars are extracted to ``$REMOTECLIP_CACHE/data/<name>/`` once.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from backend.config import cache_root
from backend.errors import NotFoundError

from ..command_line import atomic_folder

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    """The shared data folder: ``$REMOTECLIP_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("REMOTECLIP_DATA")
    root = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise NotFoundError(f"data folder {root} not found: set REMOTECLIP_DATA to the folder with rsscn7/, ucm/ ...")
    return root


def safe_extract(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract regular files and folders only, refusing paths that leave ``dest``.

    Debian's Python 3.11.2 predates ``extractall(filter="data")``, so the check is done here.
    """
    root = dest.resolve()
    members = []
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or (target != root and root not in target.parents):
            continue
        members.append(member)
    tar.extractall(dest, members=members)


def extracted(tar_path: Path, name: str) -> Path:
    """The tar's contents unpacked under the cache (done once, atomically); returns the folder."""
    dest = cache_root() / "data" / name
    marker = dest / ".complete"
    if marker.exists():
        return dest
    if not tar_path.is_file():
        raise NotFoundError(f"{tar_path} not found")
    with atomic_folder(dest) as tmp, tarfile.open(tar_path) as tar:
        safe_extract(tar, tmp)
        (tmp / ".complete").write_text(str(tar_path))
    return dest
