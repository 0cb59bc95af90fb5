"""The two plugin ZIPs (``make package``, ``make package-offline``), built into a temporary folder: the repository's
ZIP (plugins.qgis.org takes no binaries) holds no model checkpoint nor any other binary, and its bundled backend
offers the default model as a download with its size; the offline ZIP is the same plus the small model, which its
backend finds with no download."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINARY_SUFFIXES = {".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".onnx", ".so", ".dll", ".dylib", ".exe",
                   ".pyc", ".pyd", ".npz", ".npy", ".tif"}
SMALL = "resources/models/remoteclip-qgis-small.pt"


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("zips")
    proc = subprocess.run(["make", "-s", "package", "package-offline", f"DIST={out}",
                           f"PACKAGE_BUILD={out / 'build'}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {"repository": out / "remoteclip_qgis.zip", "offline": out / "remoteclip_qgis-offline.zip"}


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def _common(names: list[str]) -> None:
    assert all(n.startswith("remoteclip_qgis/") for n in names)  # one top folder, as QGIS installs it
    for need in ("metadata.txt", "LICENSE", "__init__.py", "plugin.py", "requirements.txt",
                 "backend/__main__.py", "backend/models/models.json", "resources/icon.svg",
                 "resources/icon_similar.svg", "resources/icon_settings.svg", "resources/icon_panel.svg",
                 "resources/models/MODEL_CARD.md", "i18n/remoteclip_qgis_de.qm", "i18n/remoteclip_qgis_fr.qm"):
        assert f"remoteclip_qgis/{need}" in names, need
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n or "/train/" in n]


def test_the_repository_zip_holds_no_binaries(zips):
    names = _names(zips["repository"])
    _common(names)
    assert [n for n in names if Path(n).suffix in BINARY_SUFFIXES] == []
    assert zips["repository"].stat().st_size < 1_000_000  # bytes: sources, icons and translations only


def test_the_offline_zip_is_the_same_plus_the_small_model(zips):
    names = _names(zips["offline"])
    _common(names)
    assert set(names) - set(_names(zips["repository"])) == {f"remoteclip_qgis/{SMALL}"}
    with zipfile.ZipFile(zips["offline"]) as zf:
        assert zf.read(f"remoteclip_qgis/{SMALL}") == (ROOT / SMALL).read_bytes()


def _served_models(plugin_dir: Path, home: Path) -> dict[str, dict]:
    """GET /models of the backend bundled in an unzipped plugin (its own code, a private data folder)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REMOTECLIP_EXTRA_MODELS", "PYTHONPATH")}
    env.update(REMOTECLIP_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(plugin_dir))
    state = home.parent / f"{plugin_dir.parent.name}-state.json"
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", "0", "--state-file", str(state)],
                            cwd=plugin_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while not state.exists():
            assert proc.poll() is None and time.time() < deadline, "the packaged backend did not start"
            time.sleep(0.1)
        info = json.loads(state.read_text())
        req = urllib.request.Request(info["url"] + "/models", headers={"Authorization": f"Bearer {info['token']}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return {m["name"]: m for m in json.loads(resp.read())}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("kind", ["repository", "offline"])
def test_the_packaged_backend_offers_the_default_model(zips, kind, tmp_path):
    with zipfile.ZipFile(zips[kind]) as zf:
        zf.extractall(tmp_path / kind)
    small = _served_models(tmp_path / kind / "remoteclip_qgis", tmp_path / "home")["remoteclip-qgis-small"]
    assert small["size_bytes"] == (ROOT / SMALL).stat().st_size and small["downloadable"] is True
    if kind == "repository":  # no weights here: the dock labels it "(download, 8.2 MB)" and offers the button
        assert small["present"] is False and small["where"] == str(tmp_path / "home" / "weights" /
                                                                   "remoteclip-qgis-small.pt")
    else:
        assert small["present"] is True
