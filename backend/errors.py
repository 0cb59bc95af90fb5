"""Errors that reach a user as one line, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or a missing resource: the message says what was wrong and what to do.

    The CLI prints it as one line and exits non-zero; the service answers it with HTTP 4xx.
    """

    status_code = 400


class NotFoundError(UserError):
    """A file, model or job that does not exist."""

    status_code = 404


class ConflictError(UserError):
    """A request that cannot be served in the current state (e.g. a raster not embedded yet)."""

    status_code = 409


class JobCancelled(Exception):
    """Raised inside a job when its cancel flag is set; nothing half-written is kept."""


class InsufficientStorageError(UserError):
    """Not enough disk (free space or the configured budget) for what was asked: HTTP 507."""

    status_code = 507


def write_failed(path: Path, exc: OSError) -> UserError:
    """A write error (disk full, quota, file size limit, read-only cache) as one line saying what to do."""
    # numpy reports a short write without an errno ("86848 requested and 15968 written")
    reason = exc.strerror or f"the disk took only part of a write ({exc})"
    return UserError(f"cannot write embeddings to {path.parent}: {reason} "
                     "(free some disk space, or point REMOTECLIP_CACHE at a larger disk)")
