"""The OpenVINO engine: the image tower exported to ONNX and compiled, equal to torch within the stated cosine
(float32 0.9999; bfloat16 0.99, the figure docs/PERFORMANCE.md states), kept apart from exact stores."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.errors import UserError
from backend.models.engines import OpenVinoTower, export_onnx
from backend.models.factory import load_model
from backend.models.fast_path import check_precision
from backend.raster.reader import TilingParams


def test_onnx_export_has_a_dynamic_batch(tiny_model, tmp_path):
    path = export_onnx(tiny_model.model.visual, tiny_model.image_size, tmp_path / "tower.onnx")
    graph = onnx.load(str(path)).graph
    onnx.checker.check_model(str(path))
    dims = graph.input[0].type.tensor_type.shape.dim
    assert graph.input[0].name == "pixels" and dims[0].dim_param == "n"
    assert [d.dim_value for d in dims[1:]] == [3, tiny_model.image_size, tiny_model.image_size]


@pytest.mark.parametrize(("precision", "min_cosine"), [("openvino", 0.9999), ("openvino-bf16", 0.99)])
def test_openvino_tower_equals_torch(cache_dir, sample_raster, tiny_weights, tiny_model, precision, min_cosine):
    engine = load_model("tiny-local", weights=str(tiny_weights), device="cpu", precision=precision)
    assert isinstance(engine.model.visual, OpenVinoTower) and engine.precision == precision
    assert engine.identity == f"{tiny_model.identity}|{precision}"  # its stores never answer an exact request
    assert engine.embed_dim == tiny_model.embed_dim
    torch.testing.assert_close(engine.encode_texts(["a lake"]), tiny_model.encode_texts(["a lake"]))  # torch text

    params = TilingParams(tile_px=64)
    stores = {}
    for model in (tiny_model, engine):
        plan = plan_embedding(str(sample_raster), model.identity, "tiny-local", model.image_size, params)
        stores[model.precision] = embed_raster(plan, model, batch_size=7)  # batches of another size than exported
    exact, other = np.asarray(stores["exact"].embeddings), np.asarray(stores[precision].embeddings)
    assert exact.shape == other.shape and stores["exact"].path != stores[precision].path
    cosine = np.sum(exact * other, axis=1)
    assert cosine.min() >= min_cosine, cosine.min()


def test_engines_run_on_the_cpu_only():
    with pytest.raises(UserError, match="precision openvino runs on the CPU only"):
        check_precision("openvino", torch.device("cuda"))
    with pytest.raises(UserError, match="unknown precision 'onnx': use exact, int8, openvino, openvino-bf16"):
        check_precision("onnx", torch.device("cpu"))
