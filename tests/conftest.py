"""Shared pytest fixtures.

Model fixtures: a tiny random open_clip model (``tests/fixtures/model_configs/Tiny-ViT-Test.json``)
registered through ``tests/fixtures/extra_models.json``, and a fake Hugging Face hub cache, so
nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_ARCH = "Tiny-ViT-Test"

# Set at import, before anything reads the registry, so subprocesses (CLI, service) inherit it.
os.environ.setdefault("REMOTECLIP_EXTRA_MODELS", str(FIXTURES / "extra_models.json"))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """State dict of the tiny test model, built with a fixed seed (same weights every run)."""
    import open_clip
    import torch

    from backend.models.registry import register_arch_configs

    register_arch_configs()
    with torch.random.fork_rng(devices=[]):  # leave the global RNG as other tests expect it
        torch.manual_seed(1234)
        model = open_clip.create_model(TINY_ARCH, pretrained=None)
    path = tmp_path_factory.mktemp("tiny-weights") / "tiny-test.pt"
    torch.save(model.state_dict(), path)
    return path


class HubCache:
    """A Hugging Face hub cache laid out the hub's way:
    ``models--ORG--NAME/{blobs/<sha256>, refs/main, snapshots/<commit>/<file> -> blob}``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, repo_id: str, filename: str, source: Path) -> Path:
        """Put ``source`` into the cache as ``filename`` of ``repo_id``; returns the snapshot path."""
        repo_dir = self.root / ("models--" + repo_id.replace("/", "--"))
        commit = hashlib.sha1(repo_id.encode()).hexdigest()
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        blob = repo_dir / "blobs" / digest
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            try:
                os.link(source, blob)  # cheap; the tiny model is shared by many tests
            except OSError:
                shutil.copyfile(source, blob)
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / "main").write_text(commit)
        snapshot = repo_dir / "snapshots" / commit / filename
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        if snapshot.is_symlink() or snapshot.exists():
            snapshot.unlink()
        try:
            snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
        except OSError:  # no symlinks (Windows without developer mode): the hub copies too
            shutil.copyfile(blob, snapshot)
        return snapshot

    def files(self) -> list[str]:
        """Every path under the cache, to check that nothing was downloaded."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*"))


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_weights: Path) -> HubCache:
    """An offline hub cache in a tmp dir holding ``remoteclip-qgis/tiny-test/tiny-test.pt``.

    Sets HF_HUB_CACHE and HF_HUB_OFFLINE=1 in the environment and in ``huggingface_hub.constants``
    (which reads them once, at import).
    """
    from huggingface_hub import constants

    root = tmp_path / "hf-hub"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cache = HubCache(root)
    cache.add("remoteclip-qgis/tiny-test", "tiny-test.pt", tiny_weights)
    return cache
