"""Scale-out under ``torchrun``: which rank this process is, and the few collectives embedding needs.

``torchrun --nproc_per_node N -m backend embed RASTER ...`` starts N processes with ``WORLD_SIZE``,
``RANK`` and ``LOCAL_RANK`` set. Each embeds its share of the tile batches; rank 0 gathers the shares
and writes the one store (identical to a single-process run). The process group is only created
when ``WORLD_SIZE > 1``: gloo on the CPU, NCCL on CUDA GPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import UserError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: ``rank`` of ``world_size``, and ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Ranks()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got '{text}' (is this run by torchrun?)") from None


def ranks_from_env() -> Ranks:
    """The ranks torchrun set in the environment (a single process when it did not)."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or local < 0:
        raise UserError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}")
    return Ranks(rank, world, local)


def rank_device(requested: str | None, ranks: Ranks) -> str | None:
    """The device for this rank: with several ranks and CUDA, ``cuda:LOCAL_RANK`` (one GPU per process)."""
    if ranks.distributed and torch.cuda.is_available() and (requested or "auto").strip().lower() in ("auto", "cuda"):
        return f"cuda:{ranks.local_rank % torch.cuda.device_count()}"
    return requested


def init(ranks: Ranks, device: torch.device) -> None:
    """Join the process group (once) when there are several ranks; a no-op for one process.

    Rendezvous comes from torchrun's MASTER_ADDR / MASTER_PORT.
    """
    import torch.distributed as dist

    if not ranks.distributed or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend, rank=ranks.rank, world_size=ranks.world_size)


def finish() -> None:
    """Leave the process group if one was joined."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast(obj: Any, ranks: Ranks) -> Any:
    """Rank 0's ``obj`` on every rank (picklable objects)."""
    if not ranks.distributed:
        return obj
    import torch.distributed as dist

    box = [obj if ranks.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any, ranks: Ranks) -> list[Any] | None:
    """Every rank's ``obj`` in rank order on rank 0; None on the other ranks."""
    if not ranks.distributed:
        return [obj]
    import torch.distributed as dist

    out: list[Any] | None = [None] * ranks.world_size if ranks.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out
