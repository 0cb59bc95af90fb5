"""CPU engines beyond torch for the image tower: exported to ONNX (``torch.onnx``) and compiled by OpenVINO.

``precision="openvino"`` runs the image tower as OpenVINO's float32 CPU plugin compiles it; ``"openvino-bf16"``
asks it for bfloat16 inference (on CPUs with BF16 instructions; others run float32). The text tower stays in
torch, float32. Measured on the shipped ``remoteclip-qgis-small`` (EfficientNet-Lite0, 224 px, batches of 32,
2 threads, AMD EPYC with AVX-512 BF16, shared machine): torch float32 9 tiles/s, torch dynamic int8 10 (the
fast path quantises Linear layers only, and this tower is convolutions), ONNX Runtime float32 80, ONNX Runtime
dynamic int8 7 (ConvInteger is slow) at cosine 0.967, OpenVINO float32 242 at cosine 0.9999, OpenVINO bf16 650
(``tests/perf/bench.py`` measures them on every run, with the accuracy on a trained model). Like ``int8`` the
precision is part of the model identity, so these stores are kept apart from exact ones.

The ONNX file is written to a temporary folder and read once by OpenVINO (compiling takes a few seconds per
model load; the service keeps loaded models).
"""

from __future__ import annotations

import copy
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..errors import UserError

ENGINE_PRECISIONS = ("openvino", "openvino-bf16")
ONNX_OPSET = 17


def export_onnx(visual: nn.Module, image_size: int, path: Path) -> Path:
    """Write ``visual`` (an image tower on the CPU, float32, eval mode) as ONNX with a dynamic batch axis:
    input ``pixels`` (``N x 3 x image_size x image_size``, normalised), output ``features`` (``N x D``)."""
    from .fast_path import _swap_attention

    # ViT towers: nn.MultiheadAttention runs as aten::_native_multi_head_attention under no_grad, which ONNX
    # cannot export; the same maths with nn.Linear projections and SDPA (the int8 path's rewrite) can.
    visual = copy.deepcopy(visual)
    _swap_attention(visual)
    example = torch.zeros(2, 3, image_size, image_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes: the shapes are fixed
        torch.onnx.export(visual, (example,), str(path), input_names=["pixels"], output_names=["features"],
                          dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}}, opset_version=ONNX_OPSET,
                          dynamo=False)
    return path


class OpenVinoTower(nn.Module):
    """An image tower compiled by OpenVINO, called like the torch module it replaces (float32 in and out)."""

    def __init__(self, compiled, source: nn.Module) -> None:
        super().__init__()
        self.compiled = compiled
        self._lock = threading.Lock()  # one infer request: calls from two threads take turns
        for name in ("output_dim", "image_size", "preprocess_cfg"):  # what open_clip and the factory read
            if hasattr(source, name):
                setattr(self, name, getattr(source, name))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(pixels.detach().to("cpu", torch.float32).numpy())
        with self._lock:
            out = self.compiled(array)[0]
        return torch.from_numpy(np.array(out, dtype=np.float32))


def openvino_image_tower(model: nn.Module, image_size: int, precision: str) -> nn.Module:
    """``model`` (float32 open_clip on the CPU) with its image tower replaced by OpenVINO's compilation of it."""
    try:
        import openvino as ov
    except ImportError:
        raise UserError(f"precision {precision} needs the openvino package: pip install openvino") from None
    config = {"INFERENCE_NUM_THREADS": torch.get_num_threads(),
              # LATENCY: all threads on the one request the pipeline makes at a time (THROUGHPUT split them
              # into streams and ran 136 tiles/s against 242).
              "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": "bf16" if precision == "openvino-bf16" else "f32"}
    with tempfile.TemporaryDirectory(prefix="rc-onnx-") as tmp:
        path = export_onnx(model.visual, image_size, Path(tmp) / "image_tower.onnx")
        core = ov.Core()
        if precision == "openvino-bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            config["INFERENCE_PRECISION_HINT"] = "f32"  # no BF16 instructions: float32 rather than emulation
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
    model.visual = OpenVinoTower(compiled, model.visual)
    return model
