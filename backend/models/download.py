"""Fetching a model's weights onto this machine, with progress (bytes) and cancel; nothing partial is ever kept.

Hub models (``source`` "hf" or "open_clip") go into the standard Hugging Face cache through
``huggingface_hub.hf_hub_download`` (``HF_ENDPOINT`` honoured, read at call time; ``HF_HUB_OFFLINE`` refuses);
a local model with a ``download_url`` (e.g. the project's small model from a release) is streamed to a hidden
temporary file beside its download path, checked against the registry's ``sha256`` when one is given, and renamed
into place. A cancel or a network, HTTP or disk error removes what was written (the temporary file, or the hub
cache's ``.incomplete`` blob) and ends in one line: :class:`~backend.errors.JobCancelled` or
:class:`DownloadError`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import JobCancelled, UserError
from .registry import (
    ModelSpec,
    download_target,
    downloadable,
    hf_cache_dir,
    hf_location,
    hf_offline,
    weights_status,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes so far, total bytes; 0 while unknown)
CHUNK = 1 << 16  # bytes read between progress reports and cancel checks
HUB_CHUNK = 1 << 20  # the same for huggingface_hub's downloads (its default is 10 MiB)
TIMEOUT_S = 30.0  # seconds without an answer (connecting or between blocks) before a download fails


class DownloadError(UserError):
    """A model download that failed (unreachable, refused, corrupt, disk): what is missing and what to do."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _never() -> bool:
    return False


def download_weights(spec: ModelSpec, progress: Progress | None = None,
                     cancelled: Callable[[], bool] = _never) -> Path:
    """Fetch ``spec``'s weights (nothing when they are present) and return the file.

    ``progress(done, total)`` is called in bytes as blocks arrive; ``cancelled()`` is polled between blocks and,
    when true, stops the download with :class:`JobCancelled`. Either way nothing partial stays on disk.
    """
    status = weights_status(spec)
    if status.present and status.path:
        return Path(status.path)
    if not downloadable(spec):
        why = ("its download is an archive: unzip it and choose the checkpoint" if spec.download_url
               else "it has no download address: choose its weights file")
        raise DownloadError(f"{spec.name} cannot be downloaded here: {why}")
    report = progress or (lambda done, total: None)
    if spec.source == "local":
        target = download_target(spec)
        assert target is not None and spec.download_url  # downloadable() says so
        return _fetch_url(spec, spec.download_url, target, report, cancelled)
    return _fetch_hub(spec, report, cancelled)


# --------------------------------------------------------------------------- a plain URL


def _fetch_url(spec: ModelSpec, url: str, target: Path, progress: Progress, cancelled: Callable[[], bool]) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise DownloadError(f"cannot save the weights of {spec.name} in {target.parent}: "
                            f"{exc.strerror or _one_line(exc)}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                resp = urllib.request.urlopen(url, timeout=TIMEOUT_S)  # noqa: S310 - a registry URL, http(s)
            except urllib.error.HTTPError as exc:
                raise DownloadError(f"download of {spec.name} refused: {url} answered HTTP {exc.code}") from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or _one_line(exc)
                raise DownloadError(f"download of {spec.name} failed: {url} is not reachable ({reason})") from None
            with resp:
                total = int(resp.headers.get("Content-Length") or 0) or (spec.size_bytes or 0)
                done = 0
                progress(0, total)
                while True:
                    if cancelled():
                        raise JobCancelled()
                    try:
                        block = resp.read(CHUNK)
                    except (OSError, ValueError) as exc:  # reset, timeout, a short body
                        raise DownloadError(f"download of {spec.name} broke off after {done} bytes "
                                            f"({_one_line(exc)}): nothing was kept") from None
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    progress(done, total)
        if total and done != total:
            raise DownloadError(f"download of {spec.name} broke off after {done} of {total} bytes: nothing was kept")
        if spec.sha256 and digest.hexdigest() != spec.sha256:
            raise DownloadError(f"download of {spec.name} is corrupt (its SHA-256 is not the registry's): "
                                "nothing was kept")
        os.replace(tmp, target)
    except OSError as exc:  # the disk: full, read-only
        raise DownloadError(f"cannot save the weights of {spec.name} in {target.parent}: "
                            f"{exc.strerror or _one_line(exc)}: nothing was kept") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------- the Hugging Face hub


def _progress_bar(progress: Progress, cancelled: Callable[[], bool]) -> type:
    """A tqdm class for ``hf_hub_download(tqdm_class=...)`` that reports bytes and stops on cancel."""
    from tqdm.auto import tqdm

    class Bar(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["disable"] = True  # no bar on stderr: the job's progress is the report
            super().__init__(*args, **kwargs)
            self._done = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            if cancelled():
                raise JobCancelled()
            self._done += int(n or 0)
            progress(self._done, int(self.total or 0))
            return super().update(n)

    return Bar


def _remove_incomplete(cache: Path, repo: str) -> None:
    """huggingface_hub keeps an interrupted blob as ``<blob>.incomplete`` (to resume): remove it."""
    blobs = cache / ("models--" + repo.replace("/", "--")) / "blobs"
    for partial in blobs.glob("*.incomplete"):
        partial.unlink(missing_ok=True)


def _fetch_hub(spec: ModelSpec, progress: Progress, cancelled: Callable[[], bool]) -> Path:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, RepositoryNotFoundError

    repo, filenames = hf_location(spec)
    cache = hf_cache_dir()
    if hf_offline():
        raise DownloadError(f"{spec.name} cannot be downloaded: HF_HUB_OFFLINE is set (the Hugging Face hub is "
                            "not asked); choose its weights file instead")
    endpoint = os.environ.get("HF_ENDPOINT") or None
    # huggingface_hub reads its body in blocks of this many bytes (10 MiB): progress and a cancel come between
    # blocks, so a smaller block answers a cancel within a second on a slow line.
    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, HUB_CHUNK)
    bar = _progress_bar(progress, cancelled)
    try:
        for i, filename in enumerate(filenames):
            try:
                return Path(hf_hub_download(repo, filename, cache_dir=str(cache), endpoint=endpoint,
                                            tqdm_class=bar, etag_timeout=TIMEOUT_S))
            except EntryNotFoundError:
                if i + 1 < len(filenames):
                    continue  # open_clip repos may hold only the .bin variant
                raise DownloadError(f"{filename} is not in Hugging Face repo {repo} (needed by {spec.name})") from None
    except BaseException as exc:  # a cancel, Ctrl-C or any failure: the partial blob goes first
        _remove_incomplete(cache, repo)
        if isinstance(exc, (JobCancelled, UserError)) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, GatedRepoError):
            raise DownloadError(f"{repo} is gated on Hugging Face: accept its terms and log in (hf auth login), "
                                "or choose its weights file") from None
        if isinstance(exc, RepositoryNotFoundError):
            raise DownloadError(f"Hugging Face repo {repo} for {spec.name} does not exist or is private") from None
        log.debug("hf_hub_download %s failed: %r", repo, exc)
        # connection, HTTP and disk errors all mean the same to a user
        raise DownloadError(f"download of {spec.name} from the Hugging Face hub failed ({_one_line(exc)}): "
                            "nothing was kept") from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
