"""Fixtures for the QGIS plugin's tests: real QGIS (pytest-qgis, offscreen), a real backend process
started by the plugin's own BackendManager, the tiny random model and the NAIP sample.

Random weights test plumbing only: nothing here is about retrieval quality.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SAMPLE = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"
# QGIS writes statistics beside a raster it opens (.aux.xml): work on a private copy, never the shipped file.
_SAMPLE_DIR = Path(tempfile.mkdtemp(prefix="remoteclip-plugin-tests-"))
SAMPLE = _SAMPLE_DIR / SHIPPED_SAMPLE.name
shutil.copy(SHIPPED_SAMPLE, SAMPLE)
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")


@pytest.fixture(scope="session", autouse=True)
def _remove_sample_copy():
    yield
    shutil.rmtree(_SAMPLE_DIR, ignore_errors=True)
PROCESSING_PLUGINS = "/usr/share/qgis/python/plugins"
TILE = 128


@pytest.fixture(scope="session")
def processing(qgis_app):
    """QGIS Processing, initialised once (the native algorithms and the Python framework)."""
    if PROCESSING_PLUGINS not in sys.path:
        sys.path.append(PROCESSING_PLUGINS)
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing as processing_module

    return processing_module


@pytest.fixture(scope="module")
def backend(tmp_path_factory, tiny_weights):
    """The plugin's BackendManager running a real backend (tiny model, private cache), shared by a module."""
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    tmp = tmp_path_factory.mktemp("plugin-backend")
    settings = PluginSettings(interpreter=sys.executable, default_model="tiny-local", weights=str(tiny_weights),
                              output_folder=str(tmp / "results"), tile_size=TILE,
                              overlap=0.0,  # the tests' grids: TILE px tiles side by side (the plugin's default: 0.25)
                              confirm_above_s=0)  # never a modal question in tests (test_estimate asks)
    manager = BackendManager(settings, state_dir=tmp / "state",
                             extra_env={"REMOTECLIP_CACHE": str(tmp / "cache"), "HF_HUB_OFFLINE": "1"})
    previous = set_manager(manager)
    yield manager
    set_manager(previous)
    manager.stop()


@pytest.fixture
def sample_layer(qgis_app):
    """The NAIP sample as a layer (function scope: processing.run takes layers it is given)."""
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(SAMPLE), "naip")
    assert layer.isValid()
    yield layer
    del layer


def algorithm_params(layer, tiny_weights, **extra) -> dict:
    """``layer``: a layer object or a source (a path is how the console usually passes rasters)."""
    params = {"INPUT": layer, "MODEL": "tiny-local", "WEIGHTS": str(tiny_weights), "TILE_PIXELS": TILE, "OVERLAP": 0.0}
    params.update(extra)
    return params


def wait_for(predicate, timeout: float = 120.0, what: str = "timed out") -> None:
    """Process Qt events until ``predicate()`` holds (tasks finish on the main thread's event loop)."""
    import time

    from qgis.core import QgsApplication

    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, what
        QgsApplication.processEvents()
        time.sleep(0.05)


def run_task(task, timeout: float = 180.0):
    """Add ``task`` to QGIS's task manager and process events until its ``on_finished`` was called."""
    from qgis.core import QgsApplication

    done = []
    task.on_finished = done.append
    QgsApplication.taskManager().addTask(task)
    wait_for(lambda: done, timeout, "task did not finish")
    return task


@pytest.fixture(scope="module")
def provider(processing):
    """The plugin's Processing provider, registered for one test module."""
    from qgis.core import QgsApplication

    from remoteclip_qgis.processing_provider import RemoteClipProvider

    registry = QgsApplication.processingRegistry()
    provider = RemoteClipProvider()
    assert registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)


@pytest.fixture(scope="session", autouse=True)
def _raster_menu_on_the_test_interface():
    """pytest-qgis's QgisInterface has addPluginToMenu but no Raster menu: give it one that records its entries
    (``iface.raster_menu``: menu name -> actions), as QGIS's own interface shows them under Raster."""
    from pytest_qgis.qgis_interface import QgisInterface

    def add(self, name, action):
        self.__dict__.setdefault("raster_menu", {}).setdefault(name, []).append(action)

    def remove(self, name, action):
        entries = self.__dict__.setdefault("raster_menu", {}).get(name, [])
        if action in entries:
            entries.remove(action)
        if not entries:
            self.raster_menu.pop(name, None)

    added = [n for n in ("addPluginToRasterMenu", "removePluginRasterMenu") if not hasattr(QgisInterface, n)]
    for name, method in (("addPluginToRasterMenu", add), ("removePluginRasterMenu", remove)):
        if name in added:
            setattr(QgisInterface, name, method)
    yield
    for name in added:
        delattr(QgisInterface, name)


@pytest.fixture(autouse=True)
def _no_saved_plugin_settings_leak(qgis_app):
    """The dock saves its model choice (QgsSettings "remoteclip/..."): a test that saved settings where none were
    leaves none behind, so the test profile (tracked in git) and later tests see no test's paths."""
    from qgis.core import QgsSettings

    had = "remoteclip" in QgsSettings().childGroups()
    yield
    if not had:
        settings = QgsSettings()
        settings.remove("remoteclip")
        settings.sync()
