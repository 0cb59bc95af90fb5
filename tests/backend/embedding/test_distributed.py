"""Scale-out: torchrun with two CPU processes writes the same store as one process."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from backend.app import cli
from backend.embedding.distributed import Ranks, rank_device, ranks_from_env
from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.embedding.store import EmbeddingStore
from backend.errors import UserError
from backend.raster.reader import TilingParams

from ..conftest import PYTHON, ROOT, backend_env


def _embed(cache, raster, weights, launcher: list[str]) -> tuple[EmbeddingStore, str]:
    args = ["-m", "backend", "embed", str(raster), "--model", "tiny-local", "--weights", str(weights),
            "--tile-size", "80", "--overlap", "0.2", "--device", "cpu", "--batch-size", "8"]
    done = subprocess.run(launcher + args, cwd=ROOT, env=backend_env(cache), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # rank 0 alone reports the store
    return EmbeddingStore.load(cache / "stores" / json.loads(lines[0])["store"].split("/")[-1]), done.stderr


def test_torchrun_two_processes_write_the_single_process_store(tmp_path, sample_raster, tiny_weights, tiny_model,
                                                              monkeypatch):
    torchrun = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    spread, log = _embed(tmp_path / "two", sample_raster, tiny_weights, torchrun)
    # The same job in this one process (tiny_model is tiny-local on the same weights file: same store key).
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "one"))
    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=80, overlap=0.2))
    single = embed_raster(plan, tiny_model, batch_size=8)
    assert "rank 1" in log  # both ranks embedded a share
    assert spread.key == single.key
    np.testing.assert_allclose(np.asarray(spread.embeddings), np.asarray(single.embeddings), atol=1e-6)
    with np.load(spread.path / "tiles.npz") as a, np.load(single.path / "tiles.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name])
    for name in ("raster", "model", "tiling", "grid", "stretch_limits", "n_tiles"):
        assert spread.meta[name] == single.meta[name]


def test_ranks_from_env(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert ranks_from_env() == Ranks(0, 1, 0)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(UserError, match="inconsistent torchrun environment"):
        ranks_from_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(UserError, match="RANK must be a whole number"):
        ranks_from_env()
    assert rank_device("cpu", Ranks(1, 2, 1)) == "cpu"


def test_only_embed_runs_under_torchrun(monkeypatch, capsys, sample_raster):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert cli.main(["search", str(sample_raster), "lake", "--model", "tiny-local"]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: only 'embed' runs under torchrun")
