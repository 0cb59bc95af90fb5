"""Turning tiles into model input on tensors: resize to the model's size and normalise.

This is OpenAI CLIP's preprocessing (bicubic resize, per-channel mean/std) done batched on the
device instead of per tile in PIL. Tiles are square, so no crop is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def to_model_input(
    tiles: torch.Tensor, image_size: int, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """Resize ``N x 3 x S x S`` tiles with values in [0, 1] to ``image_size`` and normalise them."""
    if tiles.ndim != 4 or tiles.shape[1] != 3:
        raise ValueError(f"expected N x 3 x S x S tiles, got shape {tuple(tiles.shape)}")
    x = tiles.float()
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        # antialias matches PIL's bicubic when shrinking; clamp removes bicubic overshoot.
        x = F.interpolate(x, size=(image_size, image_size), mode="bicubic", align_corners=False, antialias=True)
        x = x.clamp_(0.0, 1.0)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s
