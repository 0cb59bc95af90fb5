"""``qgis_process`` (QGIS's headless runner) finds the RemoteCLIP provider and runs a text search.

Debian's ``/usr/bin/qgis_process`` wrapper passes ``--noversioncheck`` from /etc/default/qgis, which
qgis_process itself rejects; ``qgis_process.bin`` is the real program.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import fiona

ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"


def test_qgis_process_runs_text_search(tmp_path, tiny_weights):
    config = tmp_path / "qgis-config"  # a fresh QGIS profile tree (QGIS_CUSTOM_CONFIG_PATH)
    plugins = config / "profiles/default/python/plugins"
    plugins.mkdir(parents=True)
    (plugins / "remoteclip_qgis").symlink_to(ROOT / "remoteclip_qgis")
    raster = tmp_path / "naip.tif"
    shutil.copy(ROOT / "resources/sample/naip_m_4709963_se_14_1_20190904.tif", raster)
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen",
               REMOTECLIP_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1", GDAL_PAM_ENABLED="NO",
               XDG_STATE_HOME=str(tmp_path / "state"))

    def qgis_process(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=400,
                              cwd=tmp_path)

    assert qgis_process("plugins", "enable", "remoteclip_qgis").returncode == 0
    listed = qgis_process("list").stdout
    for alg in ("embedraster", "textsearch", "zeroshot", "countobjects", "similartiles", "change", "fewshot"):
        assert f"remoteclip:{alg}" in listed
    out = tmp_path / "hits.gpkg"
    run = qgis_process("run", "remoteclip:textsearch", "--", f"INPUT={raster}", "QUERY=lake", "K=3",
                       "MODEL=tiny-local", f"WEIGHTS={tiny_weights}", "TILE_PIXELS=128", f"OUTPUT={out}",
                       f"SIMILARITY={tmp_path / 'sim.gpkg'}")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "BEST_SCORE" in run.stdout
    with fiona.open(out) as hits:
        assert len(hits) == 3 and hits.crs.to_epsg() == 26914
        assert sorted(f["properties"]["rank"] for f in hits) == [1, 2, 3]
