"""Errors that reach a user as one line, never as a traceback."""


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
