"""The CPU fast path: int8 dynamic quantisation of the image tower's Linear layers.

``precision="int8"`` trades a little accuracy (embeddings within cosine 0.999 of float32 on the
benchmarked ViT-B-32) for about twice the CPU throughput. It is opt-in: the default precision is
"exact" (float32 on the CPU), and the precision is part of the model identity, so a store embedded
on the fast path never answers an exact request (see ``LoadedModel.identity``).

open_clip's ViT attention is ``nn.MultiheadAttention``, whose packed in-projection is a bare
parameter and whose out-projection is a ``NonDynamicallyQuantizableLinear``: dynamic quantisation
would only reach the MLPs (two thirds of the matmul work, about 1.45x). Swapping each self-attention
for :class:`QuantizableSelfAttention` (the same maths with ``nn.Linear`` projections and
``scaled_dot_product_attention``) lets every projection run in int8 (about 2x).
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserError

# exact, the int8 fast path, and the engines of backend.models.engines (OpenVINO float32 and bfloat16).
PRECISIONS = ("exact", "int8", "openvino", "openvino-bf16")


def check_precision(precision: str | None, device: torch.device) -> str:
    """``precision`` checked against the device; None means "exact". Raises UserError on a bad one."""
    text = (precision or "exact").strip().lower()
    if text not in PRECISIONS:
        raise UserError(f"unknown precision '{precision}': use {', '.join(PRECISIONS)}")
    if text != "exact" and device.type != "cpu":
        # Dynamic int8 kernels (fbgemm / oneDNN) and the OpenVINO CPU plugin exist for the CPU only; GPUs
        # already run in float16.
        flag = " (--fast)" if text == "int8" else ""
        raise UserError(f"precision {text}{flag} runs on the CPU only, not on {device}: use --device cpu")
    return text


class QuantizableSelfAttention(nn.Module):
    """``nn.MultiheadAttention`` self-attention rewritten with ``nn.Linear`` projections.

    Same inputs and outputs as the module it replaces when called as ``attn(x, x, x, need_weights=False,
    attn_mask=mask)``; returns ``(output, None)``.
    """

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        if not mha._qkv_same_embed_dim or mha.in_proj_bias is None or mha.bias_k is not None:
            raise ValueError("only packed, biased self-attention can be converted")
        d = mha.embed_dim
        self.num_heads = mha.num_heads
        self.batch_first = mha.batch_first
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        with torch.no_grad():
            self.qkv.weight.copy_(mha.in_proj_weight)
            self.qkv.bias.copy_(mha.in_proj_bias)
            self.out.weight.copy_(mha.out_proj.weight)
            self.out.bias.copy_(mha.out_proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None,
                need_weights: bool = False, attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        if (key is not None and key is not query) or (value is not None and value is not query):
            raise ValueError("QuantizableSelfAttention handles self-attention only")
        x = query if self.batch_first else query.transpose(0, 1)
        n, length, d = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).view(n, length, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        if attn_mask is not None:
            # nn.MultiheadAttention's boolean masks mark what may NOT be attended; SDPA's what may.
            attn_mask = ~attn_mask if attn_mask.dtype == torch.bool else attn_mask.to(qkv.dtype)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
        y = self.out(y.transpose(1, 2).reshape(n, length, d))
        return (y if self.batch_first else y.transpose(0, 1)), None


def _swap_attention(module: nn.Module) -> int:
    """Replace every plain self-attention ``nn.MultiheadAttention`` under ``module``; returns how many."""
    swapped = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.MultiheadAttention):
            try:
                setattr(module, name, QuantizableSelfAttention(child))
                swapped += 1
            except ValueError:
                pass  # an unusual attention (cross-attention, no bias): left in float32
        else:
            swapped += _swap_attention(child)
    return swapped


def quantize_image_tower(model: nn.Module) -> nn.Module:
    """``model`` (a float32 open_clip model on the CPU, eval mode) with its image tower in dynamic int8.

    The text tower is left in float32: text is embedded a few phrases at a time, so its speed does not
    matter, and exact text embeddings keep query scores comparable. Works in place on a copy of the
    image tower and returns ``model``.
    """
    visual = copy.deepcopy(model.visual)
    _swap_attention(visual)
    with warnings.catch_warnings():
        # torch.ao's eager quantisation warns that it is being migrated to torchao; it still works.
        warnings.simplefilter("ignore")
        model.visual = torch.ao.quantization.quantize_dynamic(visual, {nn.Linear}, dtype=torch.qint8)
    return model
