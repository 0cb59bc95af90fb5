"""The int8 CPU fast path: same maths as the exact model, kept apart from exact stores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.errors import UserError
from backend.models.factory import ModelCache, load_model
from backend.models.fast_path import QuantizableSelfAttention, check_precision
from backend.raster.reader import TilingParams


@pytest.mark.parametrize("batch_first", [True, False])
def test_quantizable_attention_equals_multihead_attention(batch_first):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, batch_first=batch_first).eval()
    nn.init.normal_(mha.in_proj_bias)  # non-zero biases, so a swapped bias would show
    nn.init.normal_(mha.out_proj.bias)
    swapped = QuantizableSelfAttention(mha).eval()
    x = torch.randn(3, 7, 32) if batch_first else torch.randn(7, 3, 32)
    causal = torch.triu(torch.ones(7, 7, dtype=torch.bool), diagonal=1)  # True: may not attend
    additive = torch.zeros(7, 7).masked_fill(causal, float("-inf"))
    with torch.no_grad():
        for mask in (None, causal, additive):
            expected = mha(x, x, x, need_weights=False, attn_mask=mask)[0]
            torch.testing.assert_close(swapped(x, x, x, need_weights=False, attn_mask=mask)[0], expected,
                                       atol=1e-5, rtol=1e-5)


def test_int8_model_is_close_and_stored_apart(cache_dir, sample_raster, tiny_weights, tiny_model):
    fast = load_model("tiny-local", weights=str(tiny_weights), device="cpu", precision="int8")
    assert fast.precision == "int8" and tiny_model.precision == "exact"
    assert fast.identity != tiny_model.identity and fast.identity.startswith(tiny_model.identity)
    assert type(fast.model.visual.transformer.resblocks[0].attn) is QuantizableSelfAttention
    assert "quantized" in type(fast.model.visual.transformer.resblocks[0].mlp.c_fc).__module__
    assert type(fast.model.transformer.resblocks[0].attn) is nn.MultiheadAttention  # text tower stays exact
    torch.testing.assert_close(fast.encode_texts(["a lake"]), tiny_model.encode_texts(["a lake"]))

    params = TilingParams(tile_px=64, overlap=0.25)
    stores = {}
    for model in (tiny_model, fast):
        plan = plan_embedding(str(sample_raster), model.identity, "tiny-local", model.image_size, params)
        stores[model.precision] = embed_raster(plan, model, batch_size=16)
    exact, quick = stores["exact"], stores["int8"]
    assert exact.path != quick.path  # a fast-path store never answers an exact request
    assert quick.meta["model"]["precision"] == "int8"
    cosine = np.sum(np.asarray(exact.embeddings) * np.asarray(quick.embeddings), axis=1)
    assert cosine.min() > 0.98, cosine.min()
    assert not np.array_equal(np.asarray(exact.embeddings), np.asarray(quick.embeddings))


def test_model_cache_keeps_precisions_apart(tiny_weights):
    cache = ModelCache(max_models=2)
    exact = cache.get_model("tiny-local", weights=str(tiny_weights), device="cpu")
    fast = cache.get_model("tiny-local", weights=str(tiny_weights), device="cpu", precision="int8")
    assert exact is not fast and exact.precision == "exact" and fast.precision == "int8"
    assert cache.get_model("tiny-local", weights=str(tiny_weights), device="cpu", precision="exact") is exact


def test_bad_precisions():
    with pytest.raises(UserError, match="unknown precision 'fp4'"):
        check_precision("fp4", torch.device("cpu"))
    with pytest.raises(UserError, match="CPU only"):
        check_precision("int8", torch.device("cuda"))
    assert check_precision(None, torch.device("cpu")) == "exact"


def test_cli_fast_flag_is_int8_precision():
    from backend.app.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["embed", "r.tif", "--fast"]).precision == "int8"
    assert parser.parse_args(["search", "r.tif", "lake", "--precision", "int8"]).precision == "int8"
    assert parser.parse_args(["embed", "r.tif"]).precision is None  # exact unless asked
