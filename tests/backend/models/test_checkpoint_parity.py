"""Loading through open_clip.load_checkpoint against the hand-written loading it replaced.

The old code (read the file, unwrap, strip prefixes, check every key and shape, ``load_state_dict``
strict) is kept here as the reference: on the tiny model in every checkpoint layout the backend
accepts, and on the shipped small model (packaged MiniLM text tower), both give the same weights.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from backend.models import factory
from backend.models.factory import PACKAGED_TEXT_PREFIX, build_model, load_checkpoint, load_model
from backend.models.registry import get_model_spec, resolve_weights


def _old_unwrap(obj):
    for _ in range(2):
        if isinstance(obj, dict):
            for wrapper in ("state_dict", "model"):
                inner = obj.get(wrapper)
                if isinstance(inner, dict) and inner:
                    obj = inner
                    break
    return obj


def _old_state(path, key_prefix):
    obj = _old_unwrap(torch.load(path, map_location="cpu", weights_only=True))
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if key_prefix:
        state = {k[len(key_prefix):] if k.startswith(key_prefix) else k: v for k, v in state.items()}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _old_load(spec, path):
    """The old load_model's weights: packaged tower merged under the checkpoint, then a strict load."""
    state = _old_state(path, spec.key_prefix)
    model = build_model(spec, pretrained_text=spec.packaged_text_tower)
    if spec.packaged_text_tower:
        packaged = {k: v for k, v in model.state_dict().items() if k.startswith(PACKAGED_TEXT_PREFIX)}
        state = {**packaged, **state}
    expected = model.state_dict()
    for key in list(state):
        if key not in expected and key.endswith("embeddings.position_ids"):
            del state[key]
        elif key in expected and state[key].shape != expected[key].shape \
                and state[key].numel() == expected[key].numel() == 1:
            state[key] = state[key].reshape(expected[key].shape)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _same_weights(new: torch.nn.Module, old: torch.nn.Module) -> None:
    a, b = new.state_dict(), old.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k].float(), b[k].float(), rtol=0, atol=0, msg=k)


def _layouts(tiny_weights, tmp_path):
    """(registry name, key prefix override, file) for each checkpoint layout the loader accepts."""
    state = torch.load(tiny_weights, weights_only=True)
    out = [("tiny-local", None, tiny_weights)]
    p = tmp_path / "epoch_3.pt"  # open_clip_train's layout, DDP prefix, registry says module.
    torch.save({"epoch": 3, "name": "x", "state_dict": {"module." + k: v for k, v in state.items()}}, p)
    out.append(("tiny-prefixed", None, p))
    p = tmp_path / "ddp.pt"  # DDP prefix the registry does not mention
    torch.save({"module." + k: v for k, v in state.items()}, p)
    out.append(("tiny-local", None, p))
    p = tmp_path / "logit1d.pt"  # logit_scale saved 1-d
    torch.save({**state, "logit_scale": state["logit_scale"].reshape(1)}, p)
    out.append(("tiny-local", None, p))
    p = tmp_path / "half.pt"  # float16 file (as the shipped model)
    torch.save({k: v.half() for k, v in state.items()}, p)
    out.append(("tiny-local", None, p))
    from safetensors.torch import save_file

    p = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(p))
    out.append(("tiny-local", None, p))
    p = tmp_path / "other_prefix.pt"  # a prefix open_clip does not strip, named in the registry
    torch.save({"model.clip." + k: v for k, v in state.items()}, p)
    out.append(("tiny-local", "model.clip.", p))
    return out


def test_tiny_model_layouts_load_the_same_weights(tiny_weights, tmp_path, monkeypatch):
    for name, prefix, path in _layouts(tiny_weights, tmp_path):
        spec = get_model_spec(name)
        if prefix:
            spec = dataclasses.replace(spec, key_prefix=prefix)
            monkeypatch.setattr(factory, "get_model_spec", lambda _n, s=spec: s)
        new = load_model(name, weights=str(path), device="cpu")
        _same_weights(new.model, _old_load(spec, path))
        monkeypatch.setattr(factory, "get_model_spec", get_model_spec)
        assert set(load_checkpoint(path, spec.key_prefix)) == set(_old_state(path, spec.key_prefix)), path.name


def test_shipped_small_model_loads_the_same_weights(tmp_path):
    spec = get_model_spec("remoteclip-qgis-small")
    path = resolve_weights(spec, None)
    new = load_model(spec.name, device="cpu")
    _same_weights(new.model, _old_load(spec, path))
    # With the text tower in the file (as training writes it), plus the stale position_ids buffer.
    full = {**new.model.state_dict(), "text.transformer.embeddings.position_ids": torch.arange(512)[None]}
    full_path = tmp_path / "full.pt"
    torch.save(full, full_path)
    _same_weights(load_model(spec.name, weights=str(full_path), device="cpu").model, _old_load(spec, full_path))


@pytest.mark.parametrize("drop", ["visual", "text.proj", "logit_scale"])
def test_a_packaged_tower_covers_only_the_text_transformer(tmp_path, drop):
    spec = get_model_spec("remoteclip-qgis-small")
    state = {k: v for k, v in torch.load(resolve_weights(spec, None), weights_only=True).items()
             if not k.startswith(drop)}
    path = tmp_path / "partial.pt"
    torch.save(state, path)
    with pytest.raises(factory.UserError, match=rf"does not fit {spec.arch}: [1-9]\d* missing, 0 unexpected"):
        load_model(spec.name, weights=str(path), device="cpu")
