"""The plugin's round trip for a second query, timed through pytest-qgis: what the user waits for in QGIS.

    QT_QPA_PLATFORM=offscreen python -m pytest -q tests/plugin/perf_round_trip.py   (tests/perf/bench.py runs it)

Not collected by ``make test`` (the name does not start with ``test_``). A real backend process started by the
plugin's BackendManager (local mode, the shipped remoteclip-qgis-small, the NAIP sample at 128 px tiles, overlap
0); one first search embeds the sample and loads the model; then each second query is a RemoteClipTask (ask,
answer, GeoPackage written by the backend, layers added and styled in the project), timed from adding the task to
its ``on_finished``. The median (ms) goes into ``tests/perf/results.json`` (or ``$REMOTECLIP_BENCH_OUT``) as
``plugin_second_query_p50_ms``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from qgis.core import QgsProject

from remoteclip_qgis.jobs import Done
from remoteclip_qgis.params import SearchParams

from .conftest import SAMPLE, run_task

# $REMOTECLIP_BENCH_OUT: where tests/perf/bench.py wants the figure; else straight into the results file.
RESULTS = Path(os.environ.get("REMOTECLIP_BENCH_OUT") or Path(__file__).resolve().parents[1] / "perf" / "results.json")
PHRASES = ["a lake", "farmland", "a road", "a river", "houses", "a forest", "a parking lot", "bare soil",
           "a football field", "a farm building", "grassland"]


def test_second_query_round_trip(tmp_path):
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.settings import PluginSettings

    settings = PluginSettings(interpreter=sys.executable, default_model="remoteclip-qgis-small",
                              output_folder=str(tmp_path / "results"), tile_size=128, overlap=0.0, confirm_above_s=0)
    manager = BackendManager(settings, state_dir=tmp_path / "state",
                             extra_env={"REMOTECLIP_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"})
    previous = set_manager(manager)
    try:
        base = dict(raster=str(SAMPLE), model="remoteclip-qgis-small", tile_size=128, k=10)
        first = run_task(RemoteClipTask(SearchParams(**base, queries=[PHRASES[0]]), manager=manager), timeout=600)
        assert isinstance(first.outcome, Done), first.outcome
        times = []
        for phrase in PHRASES[1:]:
            t0 = time.perf_counter()
            task = run_task(RemoteClipTask(SearchParams(**base, queries=[phrase]), manager=manager))
            times.append((time.perf_counter() - t0) * 1000)
            assert isinstance(task.outcome, Done), task.outcome
            QgsProject.instance().removeAllMapLayers()
    finally:
        set_manager(previous)
        manager.stop()
        QgsProject.instance().removeAllMapLayers()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["plugin_second_query_p50_ms"] = round(statistics.median(times), 1)
    results["plugin_second_query_tiles"] = int(task.outcome.answer["n_tiles"])
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    assert len(times) == len(PHRASES) - 1 and min(times) > 0
