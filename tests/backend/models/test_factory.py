"""Loading models: the tiny test model from a fake hub cache, checkpoint formats and errors."""

from __future__ import annotations

import dataclasses
import os
import warnings

import pytest
import torch

from backend.errors import UserError
from backend.models.factory import (
    TRUST_ENV,
    ModelCache,
    build_model,
    load_checkpoint,
    load_model,
)
from backend.models.registry import get_model_spec

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)


def _pixels(n: int = 3, size: int = 64, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=gen)


def _assert_unit_rows(x: torch.Tensor) -> None:
    assert x.dtype == torch.float32 and x.device.type == "cpu"
    torch.testing.assert_close(x.norm(dim=-1), torch.ones(x.shape[0]), atol=1e-5, rtol=0)


def test_load_tiny_model_from_hub_cache(hf_cache):
    m = load_model("tiny-test")
    assert m.spec.name == "tiny-test"
    assert m.device == torch.device("cpu") and m.dtype == torch.float32
    assert m.image_size == 64 and m.embed_dim == 32
    assert m.mean == pytest.approx(OPENAI_MEAN)
    assert m.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's initial temperature
    assert not m.model.training

    images = m.encode_images(_pixels())
    assert images.shape == (3, 32)
    _assert_unit_rows(images)
    # Any float dtype is accepted and cast to the model's.
    torch.testing.assert_close(m.encode_images(_pixels().double()), images)

    texts = m.encode_texts(["a river", "an airport", "a forest"])
    assert texts.shape == (3, 32)
    _assert_unit_rows(texts)
    assert m.encode_texts([]).shape == (0, 32)
    assert m.encode_images(torch.empty(0, 3, 64, 64)).shape == (0, 32)

    # Deterministic: same weights and inputs, same embeddings, in a second load too.
    again = load_model("tiny-test")
    torch.testing.assert_close(again.encode_images(_pixels()), images)
    torch.testing.assert_close(again.encode_texts(["a river", "an airport", "a forest"]), texts)


def test_identity_tracks_the_weights_file(hf_cache, tiny_weights, tmp_path):
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_weights.read_bytes())
    m = load_model("tiny-test", weights=str(copy))
    first = m.identity
    assert first.startswith("tiny-test|") and str(copy.resolve()) in first
    assert m.identity == first  # stable
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert m.identity != first


def test_module_prefixed_training_checkpoint(hf_cache, tiny_weights, tmp_path):
    state = torch.load(tiny_weights, weights_only=True)
    wrapped = {"epoch": 20, "name": "skyclip-like", "state_dict": {"module." + k: v for k, v in state.items()}}
    path = tmp_path / "epoch_20.pt"
    torch.save(wrapped, path)

    loaded = load_checkpoint(path, "module.")
    assert set(loaded) == set(state)

    prefixed = load_model("tiny-prefixed", weights=str(path))
    plain = load_model("tiny-test")
    torch.testing.assert_close(prefixed.encode_images(_pixels()), plain.encode_images(_pixels()))
    assert prefixed.spec.key_prefix == "module."


def test_wrong_architecture_is_one_line(hf_cache, tiny_weights, tmp_path):
    state = torch.load(tiny_weights, weights_only=True)
    keys = sorted(state)
    del state[keys[0]], state[keys[1]]
    state["visual.extra_head.weight"] = torch.zeros(3)
    state["text_projection"] = torch.zeros(64, 16)
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(UserError) as err:
        load_model("tiny-test", weights=str(path))
    msg = str(err.value)
    assert "\n" not in msg
    assert f"checkpoint {path} does not fit Tiny-ViT-Test: 2 missing, 1 unexpected, 1 mis-shaped keys" in msg
    assert "another model" in msg


@pytest.mark.parametrize("content", [b"this is not a checkpoint", b"PK\x03\x04 truncated zip", b""])
def test_corrupt_file_is_one_line(hf_cache, tmp_path, content):
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_model("tiny-test", weights=str(path))
    assert str(err.value) == f"checkpoint {path} is not a readable PyTorch file"


def test_truncated_real_checkpoint(hf_cache, tiny_weights, tmp_path):
    path = tmp_path / "half.pt"
    path.write_bytes(tiny_weights.read_bytes()[: tiny_weights.stat().st_size // 2])
    with pytest.raises(UserError, match="is not a readable PyTorch file"):
        load_model("tiny-test", weights=str(path))


def test_checkpoint_without_weights(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(UserError, match="does not hold a model state dict"):
        load_checkpoint(path, None)
    torch.save({"epoch": 3}, path)
    with pytest.raises(UserError, match="does not hold any model weights"):
        load_checkpoint(path, None)


def test_untrusted_pickle_needs_opt_in(tmp_path, monkeypatch):
    import numpy as np

    path = tmp_path / "np.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "best": np.float64(0.5)}, path)
    with pytest.raises(UserError) as err:
        load_checkpoint(path, None)
    assert TRUST_ENV in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv(TRUST_ENV, "1")
    assert set(load_checkpoint(path, None)) == {"w"}


def test_torchscript_and_safetensors_checkpoints(tmp_path):
    from safetensors.torch import save_file

    layer = torch.nn.Linear(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated but OpenAI's files use it
        scripted = torch.jit.script(layer)
    jit_path = tmp_path / "openai-style.pt"
    scripted.save(str(jit_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = load_checkpoint(jit_path, None)
    assert set(state) == {"weight", "bias"}
    torch.testing.assert_close(state["weight"], layer.weight.detach())

    st_path = tmp_path / "open_clip_model.safetensors"
    save_file({"weight": torch.ones(2, 2)}, str(st_path))
    assert set(load_checkpoint(st_path, None)) == {"weight"}
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nope")
    with pytest.raises(UserError, match="not a readable safetensors file"):
        load_checkpoint(bad, None)


def test_openai_weights_get_quick_gelu(monkeypatch):
    import open_clip
    from open_clip.transformer import QuickGELU

    spec = dataclasses.replace(get_model_spec("tiny-test"), source="open_clip", pretrained="openai")
    real = open_clip.get_pretrained_cfg
    monkeypatch.setattr(
        open_clip, "get_pretrained_cfg",
        lambda arch, tag: {"quick_gelu": True} if arch == "Tiny-ViT-Test" else real(arch, tag),
    )
    model = build_model(spec)
    assert any(isinstance(m, QuickGELU) for m in model.modules())
    plain = build_model(get_model_spec("tiny-test"))
    assert not any(isinstance(m, QuickGELU) for m in plain.modules())
    # The real registry entries: OpenAI tags need QuickGELU, open_clip's config says so.
    assert open_clip.get_pretrained_cfg("ViT-B-32", "openai")["quick_gelu"] is True


def test_model_cache_reuses_and_reloads(hf_cache, tiny_weights, tmp_path):
    cache = ModelCache(max_models=2)
    first = cache.get_model("tiny-test")
    assert cache.get_model("tiny-test", device="cpu") is first  # None and "cpu" are the same here
    assert cache.get_model("tiny-test", device="auto") is first

    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_weights.read_bytes())
    other = cache.get_model("tiny-test", weights=str(copy))
    assert other is not first and len(cache) == 2
    assert cache.get_model("tiny-test", weights=str(copy)) is other

    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # weights replaced on disk
    reloaded = cache.get_model("tiny-test", weights=str(copy))
    assert reloaded is not other

    cache.get_model("tiny-local", weights=str(tiny_weights))  # evicts the least recently used
    assert len(cache) == 2
    assert cache.get_model("tiny-test") is not first
    cache.clear()
    assert len(cache) == 0


def test_small_model_builds_offline_with_packaged_minilm(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))  # nothing cached either
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))

    spec = get_model_spec("remoteclip-qgis-small")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(spec, pretrained_text=True)  # MiniLM weights from the pip package
    assert model.text.config.model_type == "bert" and model.text.config.hidden_size == 384
    path = tmp_path / "remoteclip-qgis-small.pt"
    torch.save(model.state_dict(), path)
    del model

    m = load_model("remoteclip-qgis-small", weights=str(path))
    assert m.image_size == 224 and m.embed_dim == 384
    texts = m.encode_texts(["a river", "an airport"])
    assert texts.shape == (2, 384)
    _assert_unit_rows(texts)
    # Pretrained MiniLM separates unrelated captions a little even through a random projection.
    assert float(texts[0] @ texts[1]) < 0.9999
    images = m.encode_images(_pixels(1, 224))
    assert images.shape == (1, 384)
    _assert_unit_rows(images)


def test_a_few_texts_run_on_one_thread_and_the_count_comes_back(tiny_model):
    import torch

    from backend.models import factory

    before = torch.get_num_threads()
    seen = []
    with factory.text_threads("cpu", 4):
        seen.append(torch.get_num_threads())
    with factory.text_threads(torch.device("cpu"), factory._FEW_TEXTS + 1):  # many texts keep every thread
        seen.append(torch.get_num_threads())
    assert seen == [1, before] and torch.get_num_threads() == before
    one = tiny_model.encode_texts(["a lake"])  # one thread
    many = tiny_model.encode_texts(["a lake"] + ["x"] * factory._FEW_TEXTS)[:1]  # the usual threads
    torch.testing.assert_close(one, many, atol=1e-6, rtol=0)


def test_padding_is_cut_for_a_tower_that_masks_it_and_the_embeddings_stay(tiny_model):
    from backend.models.factory import load_model

    small = load_model("remoteclip-qgis-small", device="cpu")  # the shipped weights: a Hugging Face text tower
    texts = ["a lake", "a satellite photo of dense residential houses beside a river."]
    padded = small.tokenizer(texts)
    cut = small.tokenize(texts)
    assert cut.shape[1] < padded.shape[1] and (padded[:, cut.shape[1]:] == 0).all()
    torch.testing.assert_close(cut, padded[:, :cut.shape[1]])
    with torch.inference_mode():
        full = torch.nn.functional.normalize(small.model.encode_text(padded).float(), dim=-1)
    torch.testing.assert_close(small.encode_texts(texts), full, atol=2e-6, rtol=0)
    # CLIP's own text transformer adds a positional embedding of its whole context: its padding stays.
    assert tiny_model.tokenize(["a lake"]).shape == tiny_model.tokenizer(["a lake"]).shape
