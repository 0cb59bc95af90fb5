"""``GET /health`` (open to all) and ``GET /models``."""

from __future__ import annotations

from fastapi import APIRouter

from ... import __version__
from ..schemas import Health, ModelInfo

open_router = APIRouter()  # no token: a client may check the backend is alive before it has read the state file
router = APIRouter()


@open_router.get("/health")
def health() -> Health:
    """Liveness: open to all, reveals nothing but the version."""
    return Health(status="ok", version=__version__)


@router.get("/models")
def models() -> list[ModelInfo]:
    """Known models and whether their weights are present on this machine."""
    from ...models.registry import list_models, weights_status

    out = []
    for spec in list_models():
        status = weights_status(spec)
        out.append(ModelInfo(name=spec.name, arch=spec.arch, source=spec.source, description=spec.description,
                             present=status.present, where=status.where, counts=spec.counts,
                             tile_ground_m=spec.tile_ground_m))
    return out
