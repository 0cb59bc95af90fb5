"""Top-k selection of distinct places (greedy non-maximum suppression) and the k check."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import UserError
from backend.query.hit_selection import MAX_K, check_k, overlap_fraction, select_distinct
from backend.raster.tile_grid import grid_spec, tile_windows


def grid(width: int = 320, height: int = 256, tile: int = 64, overlap: float = 0.5) -> np.ndarray:
    windows, _ = tile_windows(grid_spec(width, height, tile, overlap))
    return windows


def pairwise_max_overlap(windows: np.ndarray) -> float:
    worst = 0.0
    for i in range(len(windows)):
        for j in range(i + 1, len(windows)):
            worst = max(worst, float(overlap_fraction(windows[i], windows[j:j + 1])[0]))
    return worst


@pytest.mark.parametrize("k", [1, 3, 5, np.int64(4), 10_000])
def test_check_k_accepts(k) -> None:
    assert check_k(k) == int(k)
    assert type(check_k(k)) is int


@pytest.mark.parametrize("k", [0, -1, 10**9, MAX_K + 1, True, False, 2.5, 3.0, "5", None])
def test_check_k_rejects(k) -> None:
    with pytest.raises(UserError) as exc:
        check_k(k)
    assert "\n" not in str(exc.value)


def test_overlap_fraction_uses_smaller_window() -> None:
    w = np.array([0, 0, 10, 10])
    others = np.array([[5, 0, 10, 10], [10, 0, 10, 10], [2, 2, 4, 4], [0, 0, 10, 10], [-5, -5, 10, 10]])
    np.testing.assert_allclose(overlap_fraction(w, others), [0.5, 0.0, 1.0, 1.0, 0.25])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("max_overlap", [0.0, 0.25, 0.5])
def test_select_distinct_best_first_and_never_overlapping(seed: int, max_overlap: float) -> None:
    windows = grid()
    scores = np.random.default_rng(seed).normal(size=len(windows))
    chosen = select_distinct(scores, windows, 8, max_overlap=max_overlap)
    assert chosen.dtype == np.int64
    assert 1 <= len(chosen) <= 8
    assert len(set(chosen.tolist())) == len(chosen)
    assert chosen[0] == int(np.argmax(scores))
    assert np.all(np.diff(scores[chosen]) <= 0), "best first"
    assert pairwise_max_overlap(windows[chosen]) <= max_overlap + 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_k_larger_than_n_returns_all_non_overlapping(seed: int) -> None:
    windows = grid()
    n = len(windows)
    scores = np.random.default_rng(seed).normal(size=n)
    chosen = select_distinct(scores, windows, n * 10, max_overlap=0.0)
    assert pairwise_max_overlap(windows[chosen]) == 0.0
    # Greedy NMS is maximal: every unchosen window overlaps a better chosen one.
    chosen_set = set(chosen.tolist())
    for i in range(n):
        if i in chosen_set:
            continue
        overl = overlap_fraction(windows[i], windows[chosen])
        better = scores[chosen] >= scores[i]
        assert np.any((overl > 0.0) & better), f"window {i} could have been chosen"


def test_disjoint_windows_k_larger_than_n_returns_all() -> None:
    windows = grid(256, 128, 64, 0.0)
    scores = np.arange(len(windows), dtype=float)
    chosen = select_distinct(scores, windows, 100)
    assert chosen.tolist() == list(range(len(windows)))[::-1]


def test_exclude_is_respected() -> None:
    windows = grid(256, 128, 64, 0.0)
    scores = np.arange(len(windows), dtype=float)
    exclude = np.zeros(len(windows), dtype=bool)
    exclude[[len(windows) - 1, 2]] = True
    chosen = select_distinct(scores, windows, 100, exclude=exclude)
    assert not exclude[chosen].any()
    assert chosen.tolist() == [i for i in range(len(windows))[::-1] if not exclude[i]]


def test_excluded_window_does_not_suppress_neighbours() -> None:
    # The example tile of a similarity query scores highest but is excluded; its overlapping
    # neighbour is the best real hit.
    windows = np.array([[0, 0, 64, 64], [32, 0, 64, 64], [200, 0, 64, 64]])
    scores = np.array([1.0, 0.9, 0.1])
    chosen = select_distinct(scores, windows, 2, exclude=np.array([True, False, False]))
    assert chosen.tolist() == [1, 2]


def test_max_overlap_threshold() -> None:
    windows = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [8, 0, 10, 10]])
    scores = np.array([3.0, 2.0, 1.0])
    assert select_distinct(scores, windows, 3, max_overlap=0.0).tolist() == [0]
    assert select_distinct(scores, windows, 3, max_overlap=0.5).tolist() == [0, 1]  # 0.5 is not > 0.5
    assert select_distinct(scores, windows, 3, max_overlap=0.49).tolist() == [0, 2]  # 2 overlaps 0 by 0.2
    assert select_distinct(scores, windows, 3, max_overlap=0.1).tolist() == [0]
    assert select_distinct(scores, windows, 3, max_overlap=1.0).tolist() == [0, 1, 2]


def test_ties_keep_grid_order() -> None:
    windows = grid(256, 64, 64, 0.0)
    chosen = select_distinct(np.zeros(len(windows)), windows, 3)
    assert chosen.tolist() == [0, 1, 2]


@pytest.mark.parametrize("k", [0, -1, 10**9, True, 2.5])
def test_select_distinct_checks_k(k) -> None:
    windows = grid()
    with pytest.raises(UserError):
        select_distinct(np.zeros(len(windows)), windows, k)


# ---------------------------------------------------------------- padded edge tiles (ranking_scores)


@pytest.mark.parametrize("seed", range(5))
def test_ranking_scores_keep_full_tiles_and_put_padded_ones_below_equal_full_ones(seed: int) -> None:
    from backend.query.hit_selection import ranking_scores

    rng = np.random.default_rng(seed)
    scores = rng.normal(0.2, 0.1, size=200).astype(np.float32)
    valid = np.where(rng.random(200) < 0.3, rng.uniform(0.05, 0.95, 200), 1.0)
    adjusted = ranking_scores(scores, valid)
    full = valid == 1.0
    np.testing.assert_allclose(adjusted[full], scores[full], rtol=0, atol=1e-6)
    assert np.all(adjusted[~full] < scores[~full] + 1e-12)  # never raised, above the mean or below it
    # the same score on a padded tile and a full one: the full one ranks first, at any score
    for s in (scores.min(), np.median(scores), scores.max(), 0.9, -0.5):
        pair = ranking_scores(np.concatenate([scores, [s, s]]), np.concatenate([valid, [1.0, 0.3]]))
        assert pair[-2] > pair[-1], s
    # with the same valid fraction the order of raw scores is kept
    same = ranking_scores(scores, np.full(200, 0.4))
    assert np.array_equal(np.argsort(-scores, kind="stable"), np.argsort(-same, kind="stable"))


def test_ranking_scores_leave_unscored_and_all_full_alone() -> None:
    from backend.query.hit_selection import ranking_scores

    scores = np.array([0.3, -np.inf, 0.1, 0.5], dtype=np.float32)
    assert ranking_scores(scores, None) is scores
    assert ranking_scores(scores, np.ones(4)) is scores
    adjusted = ranking_scores(scores, np.array([1.0, 0.2, 0.5, 0.2]))
    assert adjusted[1] == -np.inf and adjusted[0] == pytest.approx(0.3)
    assert adjusted[3] == pytest.approx(0.3 + 0.2 * (0.5 - 0.3))  # mean 0.3 of the finite scores


def test_edge_strips_of_a_real_raster_no_longer_crowd_the_hits(tmp_path) -> None:
    """oils.tif (856 x 409 px) in 125 px tiles: the bottom row is a 34 px strip (valid 0.27). With the shipped
    small model, raw scores put two strips at ranks 6 and 7 of 10 for "road"; discounted, the first eight hits
    are full tiles and a strip ranks only below full tiles of a higher raw score."""
    import subprocess
    import sys

    import fiona

    from tests.backend.conftest import ROOT, SHARED_RASTERS, backend_env

    out = tmp_path / "road.gpkg"
    proc = subprocess.run([sys.executable, "-m", "backend", "search", str(SHARED_RASTERS / "oils.tif"), "road",
                           "-k", "10", "--tile-size", "125", "--model", "remoteclip-qgis-small", "--device", "cpu",
                           "-o", str(out)], cwd=ROOT, env=backend_env(tmp_path / "cache"), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]

    def heights(layer: str) -> dict[int, tuple[float, float]]:
        with fiona.open(out, layer=layer) as src:
            rows = {}
            for f in src:
                ys = [y for _, y in f["geometry"]["coordinates"][0]]
                rows[f["properties"]["tile_id"]] = (f["properties"]["score"], max(ys) - min(ys))
            return rows

    tiles = heights("hits")
    with fiona.open(out, layer="hits") as src:
        ranked = [f["properties"]["tile_id"] for f in sorted(src, key=lambda f: f["properties"]["rank"])]
    with fiona.open(out, layer="similarity") as src:
        raw = {f["properties"]["tile_id"]: f["properties"]["score"] for f in src}
    full_height = max(h for _, h in tiles.values())
    strip = {t for t, (_, h) in tiles.items() if h < 0.5 * full_height}  # the 34 px bottom row (68 m of 250 m)
    raw_top = sorted(raw, key=lambda t: -raw[t])[:10]
    # the case exists: by raw score some hits would be strips, two of them in the first eight
    bottom_row = {t for t in raw if t >= 21}  # tiles 21-27: the bottom row of the 7 x 4 grid
    assert len(set(raw_top[:8]) & bottom_row) >= 2, raw_top
    assert not set(ranked[:8]) & bottom_row, ranked
    assert strip <= bottom_row
    for t in strip:  # a strip still in the hits ranks below its raw place, after every full tile that beat it
        position = ranked.index(t)
        assert position > raw_top.index(t)
        better_full = {u for u in raw if u not in bottom_row and raw[u] >= raw[t]}
        assert better_full <= set(ranked[:position]), (t, ranked)
