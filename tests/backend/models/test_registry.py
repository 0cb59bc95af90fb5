"""Model registry: entries, weights status and resolution, all without the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.errors import NotFoundError, UserError
from backend.models.registry import (
    get_model_spec,
    hf_cache_dir,
    list_models,
    local_hf_model_dir,
    register_arch_configs,
    resolve_weights,
    weights_status,
)

BUILTIN = [
    "remoteclip-rn50", "remoteclip-vit-b-32", "remoteclip-vit-l-14",
    "openai-rn50", "openai-vit-b-32", "openai-vit-l-14",
    "georsclip-vit-b-32", "georsclip-vit-l-14",
    "skyclip-vit-b-32", "skyclip-vit-l-14",
    "remoteclip-qgis-small",
]


def _no_download(*args, **kwargs):
    raise AssertionError(f"tried to download {args} {kwargs}")


def test_builtin_and_extra_entries_are_listed():
    names = [s.name for s in list_models()]
    for name in BUILTIN + ["tiny-test", "tiny-local", "tiny-prefixed"]:
        assert name in names
    assert names[: len(BUILTIN)] == BUILTIN  # built-ins first, in file order

    rc = get_model_spec("remoteclip-vit-b-32")
    assert (rc.arch, rc.source, rc.hf_repo, rc.hf_filename) == (
        "ViT-B-32", "hf", "chendelong/RemoteCLIP", "RemoteCLIP-ViT-B-32.pt")
    assert rc.prompt_templates == ("a satellite photo of {}.", "an aerial photograph of {}.",
                                   "a satellite image of {}.", "{} seen from above.")
    assert rc.licence and rc.homepage and rc.paper and rc.counts

    # the small model keeps one template (the ensemble was no better on it) and cannot count (its card)
    small = get_model_spec("remoteclip-qgis-small")
    assert (small.prompt_templates, small.counts) == (("a satellite photo of {}.",), False)
    assert get_model_spec("tiny-nocount").counts is False

    oa = get_model_spec("openai-vit-l-14")
    assert (oa.source, oa.pretrained, oa.arch) == ("open_clip", "openai", "ViT-L-14")

    sky = get_model_spec("skyclip-vit-l-14")
    assert (sky.source, sky.key_prefix, sky.arch) == ("local", "module.", "ViT-L-14-quickgelu")
    assert get_model_spec("georsclip-vit-b-32").source == "local"

    small = get_model_spec("remoteclip-qgis-small")
    assert small.arch == "RemoteCLIP-QGIS-Small-Lite0" and small.counts is False and rc.counts is True
    assert small.default_path == "{resources}/models/remoteclip-qgis-small.pt"

    assert get_model_spec("tiny-prefixed").prompt_templates == ("an aerial image of {}.", "a satellite photo of {}.")


def test_unknown_model_lists_known_names():
    with pytest.raises(NotFoundError) as err:
        get_model_spec("no-such-model")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("unknown model 'no-such-model'; known: ")
    assert "remoteclip-vit-b-32" in msg and "tiny-test" in msg
    assert "python -m backend models" in msg


def test_weights_status_reads_the_hub_cache(hf_cache):
    present = weights_status(get_model_spec("tiny-test"))
    assert present.present
    assert present.path.endswith("tiny-test.pt") and Path(present.path).is_file()
    assert str(hf_cache.root) in present.where

    absent = weights_status(get_model_spec("remoteclip-vit-l-14"))
    assert not absent.present and absent.path is None
    assert str(hf_cache.root) in absent.where
    assert "RemoteCLIP-ViT-L-14.pt" in absent.where


def test_resolve_from_cache_offline_downloads_nothing(hf_cache, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    before = hf_cache.files()
    path = resolve_weights(get_model_spec("tiny-test"))
    assert path.parent.parent.name == "snapshots" or "snapshots" in path.parts
    assert path.name == "tiny-test.pt" and path.is_file()
    assert str(path).startswith(str(hf_cache.root))
    assert hf_cache.files() == before


def test_offline_and_missing_is_one_line(hf_cache):
    with pytest.raises(UserError) as err:
        resolve_weights(get_model_spec("remoteclip-vit-l-14"))
    msg = str(err.value)
    assert "\n" not in msg
    assert "RemoteCLIP-ViT-L-14.pt" in msg and "remoteclip-vit-l-14" in msg
    assert "https://huggingface.co/chendelong/RemoteCLIP/resolve/main/RemoteCLIP-ViT-L-14.pt" in msg
    assert "--weights PATH" in msg
    assert str(hf_cache.root) in msg


@pytest.mark.parametrize("exc_name", ["LocalEntryNotFoundError", "ConnectionError", "OSError"])
def test_unreachable_hub_is_one_line(hf_cache, monkeypatch, exc_name):
    import huggingface_hub
    from huggingface_hub import constants, errors

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # `make test` sets it; this test is "online"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    exc_type = getattr(errors, exc_name, None) or {"ConnectionError": ConnectionError, "OSError": OSError}[exc_name]

    def fail(*args, **kwargs):
        raise exc_type("Max retries exceeded with url\nsecond line of detail")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fail)
    with pytest.raises(UserError) as err:
        resolve_weights(get_model_spec("remoteclip-rn50"))
    msg = str(err.value)
    assert "\n" not in msg
    assert "cannot be reached" in msg and "RemoteCLIP-RN50.pt" in msg and "--weights PATH" in msg


def test_online_download_goes_to_the_cache(hf_cache, monkeypatch, tiny_weights):
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # `make test` sets it; this test is "online"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs.get("cache_dir")))
        return str(hf_cache.add(repo_id, filename, tiny_weights))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    path = resolve_weights(get_model_spec("remoteclip-vit-b-32"))
    assert path.name == "RemoteCLIP-ViT-B-32.pt"
    assert calls == [("chendelong/RemoteCLIP", "RemoteCLIP-ViT-B-32.pt", str(hf_cache.root))]
    # Now cached: no second download.
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    assert resolve_weights(get_model_spec("remoteclip-vit-b-32")) == path


def test_real_remoteclip_entry_resolves_from_its_repo(hf_cache, tiny_weights, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    spec = get_model_spec("remoteclip-vit-b-32")
    assert not weights_status(spec).present
    snapshot = hf_cache.add("chendelong/RemoteCLIP", "RemoteCLIP-ViT-B-32.pt", tiny_weights)
    status = weights_status(spec)
    assert status.present and Path(status.path) == snapshot
    assert resolve_weights(spec) == snapshot


def test_open_clip_source_uses_open_clip_hub_copy(hf_cache, tiny_weights, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    spec = get_model_spec("openai-rn50")
    with pytest.raises(UserError) as err:
        resolve_weights(spec)
    assert "timm/resnet50_clip.openai" in str(err.value) and "\n" not in str(err.value)
    # open_clip prefers the safetensors file but older repos only hold the .bin one.
    snapshot = hf_cache.add("timm/resnet50_clip.openai", "open_clip_pytorch_model.bin", tiny_weights)
    assert weights_status(spec).present
    assert resolve_weights(spec) == snapshot


def test_explicit_weights_win(hf_cache, tiny_weights, tmp_path):
    assert resolve_weights(get_model_spec("remoteclip-vit-l-14"), str(tiny_weights)) == tiny_weights.resolve()
    missing = tmp_path / "nope.pt"
    with pytest.raises(NotFoundError) as err:
        resolve_weights(get_model_spec("tiny-test"), str(missing))
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(NotFoundError):
        resolve_weights(get_model_spec("tiny-test"), str(tmp_path))  # a folder


def test_local_source_uses_default_path_under_home(tmp_path, monkeypatch, tiny_weights):
    monkeypatch.setenv("REMOTECLIP_HOME", str(tmp_path))
    spec = get_model_spec("tiny-local")
    expected = tmp_path / "weights" / "tiny-local.pt"
    status = weights_status(spec)
    assert not status.present and status.path == str(expected)
    with pytest.raises(UserError) as err:
        resolve_weights(spec)
    assert str(expected) in str(err.value) and "--weights PATH" in str(err.value)
    assert "\n" not in str(err.value)

    expected.parent.mkdir()
    expected.write_bytes(tiny_weights.read_bytes())
    assert weights_status(spec).present
    assert resolve_weights(spec) == expected

    with pytest.raises(UserError) as err:  # no default path at all
        resolve_weights(get_model_spec("tiny-prefixed"))
    assert "--weights PATH" in str(err.value)


def test_local_missing_names_download_url(tmp_path, monkeypatch):
    monkeypatch.setenv("REMOTECLIP_HOME", str(tmp_path))
    with pytest.raises(UserError) as err:
        resolve_weights(get_model_spec("georsclip-vit-b-32"))
    msg = str(err.value)
    assert "RS5M_ViT-B-32.pt" in msg and str(tmp_path) in msg and "\n" not in msg


def test_bad_extra_registry_is_a_user_error(tmp_path, monkeypatch):
    path = tmp_path / "models.json"
    monkeypatch.setenv("REMOTECLIP_EXTRA_MODELS", str(path))
    with pytest.raises(NotFoundError):
        list_models()
    path.write_text("{not json")
    with pytest.raises(UserError, match="not readable JSON"):
        list_models()
    path.write_text(json.dumps([{"name": "x", "arch": "ViT-B-32", "source": "ftp"}]))
    with pytest.raises(UserError, match="field 'source': .*got 'ftp'"):
        list_models()
    path.write_text(json.dumps([{"name": "x", "arch": "ViT-B-32", "source": "hf", "hf_repo": "a/b"}]))
    with pytest.raises(UserError, match="hf_filename"):
        list_models()
    # A valid extra entry may replace a built-in one.
    path.write_text(json.dumps([{"name": "remoteclip-rn50", "arch": "RN50", "source": "local"}]))
    assert get_model_spec("remoteclip-rn50").source == "local"


def test_arch_configs_are_registered_with_local_text_tower():
    import open_clip

    register_arch_configs()
    assert open_clip.get_model_config("Tiny-ViT-Test")["embed_dim"] == 32
    cfg = open_clip.get_model_config("RemoteCLIP-QGIS-Small")
    local = local_hf_model_dir("sentence-transformers/all-MiniLM-L6-v2")
    assert local is not None and (local / "model.safetensors").is_file()
    assert cfg["text_cfg"]["hf_model_name"] == str(local)
    assert cfg["text_cfg"]["hf_tokenizer_name"] == str(local)
    # Another add_model_config call rebuilds open_clip's registry; registering again re-applies it.
    open_clip.add_model_config(Path(__file__).resolve().parents[2] / "fixtures" / "model_configs")
    register_arch_configs()
    assert open_clip.get_model_config("RemoteCLIP-QGIS-Small")["text_cfg"]["hf_model_name"] == str(local)


def test_hf_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert hf_cache_dir() == tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "other"))
    assert hf_cache_dir() == tmp_path / "other"


# ------------------------------------------------------------- the pydantic schema against the old checks

_OLD_FIELDS = {
    "name", "arch", "description", "source", "hf_repo", "hf_filename", "pretrained", "default_path",
    "key_prefix", "licence", "homepage", "paper", "download_url", "prompt_templates", "packaged_text_tower",
    "counts", "tile_ground_m", "download_path", "size_bytes", "sha256",
}


def _old_spec_from_entry(entry, origin):
    """The hand-written validation _spec_from_entry had before the pydantic model (good entries only)."""
    from backend.models.registry import DEFAULT_PROMPT_TEMPLATES, ModelSpec

    assert isinstance(entry, dict) and not set(entry) - _OLD_FIELDS
    templates = entry.get("prompt_templates") or list(DEFAULT_PROMPT_TEMPLATES)
    return ModelSpec(
        name=entry["name"], arch=entry["arch"], description=entry.get("description") or "",
        source=entry["source"], hf_repo=entry.get("hf_repo"), hf_filename=entry.get("hf_filename"),
        pretrained=entry.get("pretrained"), default_path=entry.get("default_path"),
        key_prefix=entry.get("key_prefix") or None, licence=entry.get("licence") or "unknown",
        homepage=entry.get("homepage"), prompt_templates=tuple(templates), paper=entry.get("paper"),
        download_url=entry.get("download_url"), packaged_text_tower=bool(entry.get("packaged_text_tower", False)),
        counts=bool(entry.get("counts", True)), tile_ground_m=entry.get("tile_ground_m"),
        download_path=entry.get("download_path"), size_bytes=entry.get("size_bytes"), sha256=entry.get("sha256"),
    )


def test_schema_gives_the_same_specs_as_the_hand_written_checks():
    from backend.models.registry import MODELS_FILE, _spec_from_entry

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "extra_models.json"
    n = 0
    for path in (MODELS_FILE, fixtures):
        for entry in json.loads(path.read_text()):
            assert _spec_from_entry(entry, path) == _old_spec_from_entry(entry, path)
            n += 1
    assert n >= 10


@pytest.mark.parametrize(("entry", "field"), [
    ({"name": "x", "arch": "RN50", "source": "local", "wieghts": "a.pt"}, "wieghts"),  # a typo
    ({"name": "x", "source": "local"}, "arch"),
    ({"name": "x", "arch": "", "source": "local"}, "arch"),
    ({"name": "x", "arch": "RN50", "source": "local", "key_prefix": 3}, "key_prefix"),
    ({"name": "x", "arch": "RN50", "source": "local", "packaged_text_tower": "yes"}, "packaged_text_tower"),
    ({"name": "x", "arch": "RN50", "source": "local", "counts": "no"}, "counts"),
    ({"name": "x", "arch": "RN50", "source": "local", "tile_ground_m": 0}, "tile_ground_m"),
    ({"name": "x", "arch": "RN50", "source": "local", "tile_ground_m": "150 m"}, "tile_ground_m"),
    ({"name": "x", "arch": "RN50", "source": "local", "prompt_templates": ["no slot"]}, "prompt_templates"),
    ({"name": "x", "arch": "RN50", "source": "open_clip"}, "pretrained"),
    ({"arch": "RN50", "source": "local"}, "name"),
])
def test_a_bad_entry_is_one_line_naming_file_and_field(tmp_path, monkeypatch, entry, field):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps([entry]))
    monkeypatch.setenv("REMOTECLIP_EXTRA_MODELS", str(path))
    with pytest.raises(UserError) as err:
        list_models()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"model registry {path}: ") and field in msg


def test_small_model_tiles_default_to_its_cards_training_ground_size():
    """The registry's default tile ground size is the one the model card computed from its training images."""
    card = json.loads((Path(__file__).resolve().parents[3] / "resources" / "models"
                       / "remoteclip-qgis-small.card.json").read_text())["training_ground"]
    assert get_model_spec("remoteclip-qgis-small").tile_ground_m == card["tile_ground_m"]
    assert 76.8 <= card["tile_ground_m"] <= 800.0  # inside the range of the training images' ground sizes
    assert get_model_spec("remoteclip-vit-b-32").tile_ground_m is None  # RemoteCLIP: model input pixels
