"""Model downloads (backend.models.download) against a real HTTP server on loopback: a plain URL (the small model's
release asset) and the Hugging Face hub's layout through the real huggingface_hub (HF_ENDPOINT). Cancels, broken
transfers, a corrupt file and an offline hub each end in one line with nothing partial left on disk."""

from __future__ import annotations

import hashlib
import json

import pytest

from backend.errors import JobCancelled
from backend.models.download import DownloadError, download_weights
from backend.models.registry import get_model_spec, weights_status
from tests.weights_server import WeightsServer, random_file


@pytest.fixture
def server():
    srv = WeightsServer()
    yield srv
    srv.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("REMOTECLIP_HOME", str(path))
    return path


def _registry(tmp_path, monkeypatch, *entries: dict) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(list(entries)))
    monkeypatch.setenv("REMOTECLIP_EXTRA_MODELS", str(path))


def _release_entry(url: str, data: bytes | None = None, **extra) -> dict:
    entry = {"name": "release-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
             "default_path": "{home}/shipped/release-model.pt", "download_url": url,
             "download_path": "{home}/weights/release-model.pt"}
    if data is not None:
        entry.update(size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    entry.update(extra)
    return entry


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_release_url_download_is_checked_and_lands_at_its_download_path(server, home, tmp_path, monkeypatch,
                                                                       tiny_weights):
    url = server.add_file("release-model.pt", tiny_weights)
    data = tiny_weights.read_bytes()
    _registry(tmp_path, monkeypatch, _release_entry(url, data))
    spec = get_model_spec("release-model")
    assert not weights_status(spec).present
    seen = []
    path = download_weights(spec, progress=lambda done, total: seen.append((done, total)))
    assert path == home / "weights" / "release-model.pt"
    assert path.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and seen[0] == (0, len(data))
    assert weights_status(spec).present and weights_status(spec).path == str(path)
    assert _leftovers(home) == ["release-model.pt"]  # no temporary file beside it
    assert download_weights(spec) == path  # present: nothing fetched again
    assert [r for r in server.requests if r[0] == "GET"] == [("GET", "/files/release-model.pt")]


def test_cancel_keeps_nothing(server, home, tmp_path, monkeypatch):
    big = random_file(tmp_path / "big.pt", 2_000_000)
    _registry(tmp_path, monkeypatch, _release_entry(server.add_file("big.pt", big)))
    seen = []
    with pytest.raises(JobCancelled):
        download_weights(get_model_spec("release-model"), progress=lambda d, t: seen.append(d),
                         cancelled=lambda: len(seen) > 3)
    assert 0 < seen[-1] < 2_000_000
    assert _leftovers(home) == []


def test_a_broken_transfer_is_one_line_and_keeps_nothing(server, home, tmp_path, monkeypatch):
    big = random_file(tmp_path / "big.pt", 500_000)
    _registry(tmp_path, monkeypatch, _release_entry(server.add_file("big.pt", big)))
    server.break_after = 200_000
    with pytest.raises(DownloadError) as err:
        download_weights(get_model_spec("release-model"))
    line = str(err.value)
    assert "\n" not in line and "release-model" in line and "nothing was kept" in line
    assert _leftovers(home) == []


def test_a_corrupt_file_is_refused(server, home, tmp_path, monkeypatch, tiny_weights):
    url = server.add_file("release-model.pt", tiny_weights)
    _registry(tmp_path, monkeypatch, _release_entry(url, tiny_weights.read_bytes(), sha256="0" * 64))
    with pytest.raises(DownloadError, match="corrupt .*nothing was kept"):
        download_weights(get_model_spec("release-model"))
    assert _leftovers(home) == []


def test_an_unreachable_or_missing_url_is_one_line(server, home, tmp_path, monkeypatch):
    _registry(tmp_path, monkeypatch, _release_entry(f"{server.url}/files/none.pt"),
              dict(_release_entry("http://127.0.0.1:9/x.pt"), name="dead-model"))
    with pytest.raises(DownloadError, match=r"refused: .* answered HTTP 404"):
        download_weights(get_model_spec("release-model"))
    with pytest.raises(DownloadError, match="is not reachable"):
        download_weights(get_model_spec("dead-model"))
    assert _leftovers(home) == []


def test_an_archive_or_no_url_cannot_be_downloaded(home, tmp_path, monkeypatch):
    no_url = {"name": "no-url", "arch": "Tiny-ViT-Test", "source": "local", "default_path": "{home}/x.pt"}
    _registry(tmp_path, monkeypatch, _release_entry("http://127.0.0.1:9/x.zip"), no_url)
    with pytest.raises(DownloadError, match="archive"):
        download_weights(get_model_spec("release-model"))
    with pytest.raises(DownloadError, match="no download address"):
        download_weights(get_model_spec("no-url"))


@pytest.fixture
def online_hub(hf_cache, server, monkeypatch):
    """The hf_cache fixture's cache, online, with HF_ENDPOINT at the loopback server."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)  # make test sets it too: either one means offline
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    return hf_cache


def test_hub_download_goes_into_the_hub_cache(online_hub, server, tiny_weights, tmp_path, monkeypatch):
    _registry(tmp_path, monkeypatch, {"name": "hub-model", "arch": "Tiny-ViT-Test", "source": "hf",
                                      "hf_repo": "org/hub-model", "hf_filename": "w.pt", "licence": "test only"})
    server.add_hub_file("org/hub-model", "w.pt", tiny_weights)
    spec = get_model_spec("hub-model")
    assert not weights_status(spec).present
    seen = []
    path = download_weights(spec, progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == tiny_weights.read_bytes()
    assert str(path).startswith(str(online_hub.root)) and "/snapshots/" in str(path)
    size = tiny_weights.stat().st_size
    assert seen[-1] == (size, size)
    assert weights_status(spec).present


def test_hub_cancel_leaves_no_incomplete_blob(online_hub, server, tmp_path, monkeypatch):
    _registry(tmp_path, monkeypatch, {"name": "hub-model", "arch": "Tiny-ViT-Test", "source": "hf",
                                      "hf_repo": "org/hub-model", "hf_filename": "w.pt", "licence": "test only"})
    server.add_hub_file("org/hub-model", "w.pt", random_file(tmp_path / "big.pt", 5_000_000))
    server.slow_s = 0.01
    seen = []
    with pytest.raises(JobCancelled):
        download_weights(get_model_spec("hub-model"), progress=lambda d, t: seen.append(d),
                         cancelled=lambda: len(seen) >= 2)
    repo_dir = online_hub.root / "models--org--hub-model"
    assert [p.name for p in repo_dir.rglob("*") if p.is_file() and "blobs" in p.parts] == []
    assert not weights_status(get_model_spec("hub-model")).present


def test_hub_broken_transfer_is_one_line(online_hub, server, tmp_path, monkeypatch):
    _registry(tmp_path, monkeypatch, {"name": "hub-model", "arch": "Tiny-ViT-Test", "source": "hf",
                                      "hf_repo": "org/hub-model", "hf_filename": "w.pt", "licence": "test only"})
    server.add_hub_file("org/hub-model", "w.pt", random_file(tmp_path / "big.pt", 400_000))
    server.break_after = 100_000
    with pytest.raises(DownloadError) as err:
        download_weights(get_model_spec("hub-model"))
    assert "\n" not in str(err.value) and "nothing was kept" in str(err.value)
    assert [p for p in (online_hub.root / "models--org--hub-model").rglob("*.incomplete")] == []


def test_hub_offline_is_refused_in_one_line(hf_cache, tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set") as err:
        download_weights(get_model_spec("remoteclip-vit-l-14"))
    assert "--" not in str(err.value)


def test_the_small_models_release_entry_describes_the_shipped_file():
    """``make package`` leaves the checkpoint out: the entry's download (URL, size, SHA-256) must be that file."""
    from backend.models.registry import REGISTRY_DIR, download_target, downloadable

    spec = get_model_spec("remoteclip-qgis-small")
    shipped = REGISTRY_DIR.parents[1] / "resources" / "models" / "remoteclip-qgis-small.pt"
    assert downloadable(spec) and spec.download_url.startswith("https://")
    assert spec.size_bytes == shipped.stat().st_size
    assert spec.sha256 == hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert str(download_target(spec)).endswith("weights/remoteclip-qgis-small.pt")
