"""Choosing the torch device and precision a model runs on."""

from __future__ import annotations

import torch

from ..errors import UserError

_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(requested: str | None = None) -> torch.device:
    """The device to run on.

    ``None`` or ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit ``"cpu"``,
    ``"cuda"``, ``"cuda:N"`` or ``"mps"`` is checked here, so an unusable one fails with a one-line
    :class:`UserError` instead of a torch error deep inside a job.
    """
    text = (requested or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device '{requested}': use {_CHOICES}") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            built = "with" if torch.version.cuda else "without"
            raise UserError(
                f"device '{requested}' is not available: no usable CUDA GPU here "
                f"(torch {torch.__version__} is built {built} CUDA); use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UserError(
                f"device '{requested}' is not available: this machine has {count} CUDA GPU(s) "
                f"(cuda:0..cuda:{count - 1})"
            )
        return device
    if device.type == "mps":
        if not _mps_available():
            raise UserError(
                f"device '{requested}' is not available: Apple MPS is not usable here; use --device cpu or auto"
            )
        return torch.device("mps")
    raise UserError(f"device '{requested}' is not supported: use {_CHOICES}")


def default_dtype(device: torch.device) -> torch.dtype:
    """float16 on GPUs (CUDA, MPS), where it halves memory and is much faster; float32 on the CPU,
    where half precision is slow and some kernels are missing."""
    return torch.float16 if device.type in ("cuda", "mps") else torch.float32
