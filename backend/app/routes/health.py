"""``GET /health``: open to all (models are in :mod:`backend.app.routes.models`)."""

from __future__ import annotations

from fastapi import APIRouter

from ... import __version__
from ..schemas import Health

open_router = APIRouter()  # no token: a client may check the backend is alive before it has read the state file

@open_router.get("/health")
def health() -> Health:
    """Liveness: open to all, reveals nothing but the version."""
    return Health(status="ok", version=__version__)

