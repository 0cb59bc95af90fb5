"""Every raster of the corpus (:mod:`tests.backend.raster_corpus`) through every command: a sane answer or one
line, early, with nothing else on the console.

In-process (``cli.main``, stderr captured at the file descriptor, so GDAL's and libtiff's C-level lines would
show): each case exits 0 with a readable GeoPackage inside the raster's extent, or 2 with exactly one line, the
model never loaded, nothing written; no Python warning either way. A sample runs as real ``python -m backend``
processes (transformers' and open_clip's own lines would show there), refusals in under 5 s; another over HTTP,
whose ``{"error"}`` is the CLI's line.
"""

from __future__ import annotations

import re
import subprocess
import time
import warnings
from pathlib import Path

import fiona
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.errors import NotGeoreferencedWarning
from rasterio.vrt import WarpedVRT

from backend.app import cli, service
from backend.models import factory
from backend.raster.gdal_messages import silence_expected_warnings
from backend.raster.sources import source_file

from .. import raster_corpus as rc
from ..conftest import PYTHON, ROOT, backend_env

QUERIES = ("search", "classify", "count", "similar")
REFUSING = (*QUERIES, "embed")
# similar's own layer is empty for a one-tile raster (the example has no neighbour): its similarity layer is not
LAYER = {"search": "hits", "classify": "classes", "count": "counts", "similar": "similarity"}
# What the CLI itself prints on stderr; anything else is a leak (GDAL, libtiff, numpy, transformers, open_clip).
OWN_LINES = ("model: ", "note: ", "warning: ", "estimate: ", "embedding", "store: ", "wrote ")
REFUSAL_SECONDS = 5.0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, str | None]:
    """Every case's raster name (None: this GDAL cannot make it), made once for the module."""
    root = tmp_path_factory.mktemp("corpus")
    return {case.name: rc.build(case, root) for case in rc.CASES}


@pytest.fixture
def model_loads(monkeypatch) -> list[str]:
    """The models the run loaded (the real loader, counted): empty proves a refusal came before the model."""
    loads: list[str] = []
    real = factory.load_model

    def counting(name, **options):
        loads.append(name)
        return real(name, **options)

    monkeypatch.setattr(factory, "load_model", counting)
    return loads


def argv(command: str, raster: str, case: rc.Case, weights: Path, output: Path) -> list[str]:
    head = {"search": [raster, "lake"], "classify": [raster, "--classes", "water,field,road"],
            "count": [raster, "tree", "--force"], "similar": [raster, "--tile", "0"], "embed": [raster]}[command]
    tail = [] if command == "embed" else ["-o", str(output)]
    return [command, *head, "--model", "tiny-local", "--weights", str(weights), "--device", "cpu", *case.args, *tail]


def raster_extent(name: str) -> tuple[str | None, tuple[float, float, float, float]]:
    """The raster's CRS (WKT or None) and the bounding box of its four corners, read with rasterio here (a
    GCP-only raster through its GCPs, as the backend reads it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(name) as src:
            if src.crs is None and src.transform.is_identity and src.gcps[0] and src.gcps[1] is not None:
                with WarpedVRT(src, src_crs=src.gcps[1]) as vrt:
                    return vrt.crs.to_wkt(), tuple(vrt.bounds)
            corners = np.array([src.transform @ xy for xy in
                                ((0, 0), (src.width, 0), (src.width, src.height), (0, src.height))])
            crs = src.crs.to_wkt() if src.crs else None
    return crs, (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())


def check_answer(output: Path, layer: str, name: str) -> None:
    """A GeoPackage whose layer has features, all inside the raster's extent, in the raster's CRS."""
    crs_wkt, (x0, y0, x1, y1) = raster_extent(name)
    with fiona.open(output, layer=layer) as src:
        features = list(src)
        assert features, layer
        if crs_wkt is not None:
            assert rasterio.crs.CRS.from_wkt(crs_wkt) == rasterio.crs.CRS.from_user_input(src.crs_wkt)
    tol = 1e-6 * max(1.0, abs(x1 - x0), abs(y1 - y0))
    for feature in features:
        ring = np.array(feature["geometry"]["coordinates"][0])
        assert ring[:, 0].min() >= x0 - tol and ring[:, 0].max() <= x1 + tol, (ring, (x0, y0, x1, y1))
        assert ring[:, 1].min() >= y0 - tol and ring[:, 1].max() <= y1 + tol, (ring, (x0, y0, x1, y1))


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


@pytest.mark.parametrize("index, case", list(enumerate(rc.CASES)), ids=[c.name for c in rc.CASES])
def test_each_raster_gets_an_answer_or_one_line(index, case, corpus, cache_dir, tiny_weights, model_loads, capfd,
                                                tmp_path):
    name = corpus[case.name]
    if name is None:
        pytest.skip(f"this GDAL cannot make {case.name}")
    refused = case.expect == "refused"
    command = (REFUSING if refused else QUERIES)[index % (len(REFUSING) if refused else len(QUERIES))]
    output = tmp_path / "out" / "answer.gpkg"
    output.parent.mkdir()
    folder = Path(source_file(name)).parent
    before = files_under(folder)
    capfd.readouterr()
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_expected_warnings()  # the product's own filters (NodataShadowWarning), which "always" reset
        code = cli.main(argv(command, name, case, tiny_weights, output))
    seconds = time.perf_counter() - started
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert not [str(w.message) for w in caught], "Python warnings reached the user"
    assert files_under(folder) == before, "files appeared beside the raster"
    if code == 0 and case.expect in ("ok", "either"):
        assert all(line.startswith(OWN_LINES) for line in err), err
        check_answer(output, LAYER[command], name)
        assert files_under(output.parent) == {output.name}
        return
    assert case.expect != "ok", err
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert case.message in err[0], err
    assert not model_loads, "the model loaded before the raster was refused"
    assert seconds < REFUSAL_SECONDS
    assert files_under(output.parent) == set() and files_under(cache_dir / "stores") == set()


def test_the_corpus_covers_the_issue(corpus):
    """Each kind of raster the issue lists is in the corpus and made here (netCDF and HDF5 where the bindings
    that write them exist)."""
    made = {name for name, path in corpus.items() if path is not None}
    for required in ("dtype_complex128", "one_bit", "bands_5", "palette", "alpha", "dataset_mask", "nodata_nan",
                     "nodata_posinf", "rotated", "sheared", "gcps_with_crs", "rpcs_only", "size_1x1", "size_3x2",
                     "bigtiff", "tiled", "striped", "vrt_missing_source", "symlink_loop", "folder", "fifo"):
        assert required in made, required
    assert sum(name.startswith("truncated_") for name in made) >= 8
    assert sum(name.startswith("flipped_") for name in made) >= 8
    assert len(rc.CASES) >= 90


# ---------------------------------------------------------------- real processes


SUBPROCESS_SAMPLE = [("truncated_packbits", "search"), ("netcdf_container", "classify"),
                     ("vrt_missing_source", "embed"), ("symlink_loop", "count"), ("dtype_complex64", "search"),
                     ("size_3x2_default_tiles", "similar")]


@pytest.mark.parametrize("case_name, command", SUBPROCESS_SAMPLE, ids=[c for c, _ in SUBPROCESS_SAMPLE])
def test_nothing_else_reaches_the_console_of_a_real_process(case_name, command, corpus, tiny_weights, tmp_path):
    case = next(c for c in rc.CASES if c.name == case_name)
    name = corpus[case_name]
    if name is None:
        pytest.skip(f"this GDAL cannot make {case_name}")
    output = tmp_path / "answer.gpkg"
    started = time.perf_counter()
    proc = subprocess.run([PYTHON, "-m", "backend", *argv(command, name, case, tiny_weights, output)], cwd=ROOT,
                          env=backend_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    if case.expect == "ok":
        assert proc.returncode == 0, err
        assert all(line.startswith(OWN_LINES) for line in err), err
        check_answer(output, LAYER[command], name)
    else:
        assert proc.returncode == 2, err
        assert len(err) == 1 and err[0].startswith("error: ") and case.message in err[0], err
        assert seconds < REFUSAL_SECONDS, f"refused after {seconds:.1f} s: the model or torch was loaded first"
        assert not output.exists() and files_under(tmp_path / "cache" / "stores") == set()


# ---------------------------------------------------------------- HTTP


HTTP_SAMPLE = ["truncated_lzw", "netcdf_container", "gpkg_two", "vrt_mosaic_missing_source", "symlink_loop",
               "all_nodata", "folder"]


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REMOTECLIP_CACHE", str(tmp_path_factory.mktemp("http-cache")))
        with TestClient(service.create_app("tok", device="cpu"), base_url="http://127.0.0.1",
                        headers={"Authorization": "Bearer tok"}) as client:
            yield client


@pytest.mark.parametrize("case_name", HTTP_SAMPLE)
@pytest.mark.parametrize("route", ["/estimate", "/search"])
def test_http_answers_the_clis_line(route, case_name, corpus, http, tiny_weights, monkeypatch, capfd):
    loads: list[str] = []
    monkeypatch.setattr(factory, "get_model", lambda name, **options: loads.append(name))
    body = {"raster": corpus[case_name], "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 16}
    if route == "/search":
        body["queries"] = ["lake"]
    capfd.readouterr()
    answer = http.post(route, json=body)
    case = next(c for c in rc.CASES if c.name == case_name)
    assert answer.status_code in (400, 404), answer.text
    error = answer.json()["error"]
    assert "\n" not in error and case.message in error
    assert not loads
    assert cli.main(["embed", corpus[case_name], "--model", "tiny-local", "--weights", str(tiny_weights),
                     "--tile-size", "16"]) == 2
    assert capfd.readouterr().err.strip() == f"error: {error}"


def test_http_reads_a_rotated_complex_raster(corpus, http, tiny_weights):
    body = {"raster": corpus["dtype_complex64"], "model": "tiny-local", "weights": str(tiny_weights),
            "tile_size": 16}
    answer = http.post("/estimate", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tiles"] == 6


def test_a_gcp_raster_is_georeferenced_through_its_gcps(corpus, cache_dir, tiny_weights, tmp_path, capfd):
    output = tmp_path / "hits.gpkg"
    assert cli.main(["search", corpus["gcps_with_crs"], "lake", "--model", "tiny-local", "--weights",
                     str(tiny_weights), "--tile-size", "16", "-o", str(output)]) == 0
    assert "ground control points" in capfd.readouterr().err
    with fiona.open(output, layer="hits") as src:
        assert rasterio.crs.CRS.from_user_input(src.crs_wkt).to_epsg() == 4326
        x0, y0, x1, y1 = src.bounds
    assert 9.99 < x0 < x1 < 10.01 and 49.99 < y0 < y1 < 50.01  # the GCPs' corner of the world, not pixels


def test_complex_pixels_are_taken_as_amplitude_and_said(corpus, cache_dir, tiny_weights, tmp_path, capfd):
    assert cli.main(["embed", corpus["dtype_complex64"], "--model", "tiny-local", "--weights", str(tiny_weights),
                     "--tile-size", "16"]) == 0
    err = capfd.readouterr().err
    assert re.search(r"note: .*complex .*amplitude", err), err
