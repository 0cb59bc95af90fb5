"""The dock's model picker (the plugin's only one) with a real backend over real HTTP: a model without weights
offers "Download" (its size; the backend's download job, progress, cancel keeping nothing) or "Choose file…"; no
message a user sees carries command-line flags. The settings dialog's local / remote switch and its connection
test; the toolbar's distinct icons and the menu under Raster. The weights come from a loopback server (Hugging Face
is not reachable here)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from qgis.core import Qgis, QgsApplication, QgsProject, QgsRasterLayer

from tests.weights_server import WeightsServer, random_file

from .conftest import ROOT, SAMPLE, TILE, wait_for

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_weights):
    """A backend (the plugin's BackendManager) whose registry adds a model from a release URL, a slow large one and
    one with no download address, each missing from its private data home."""
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.settings import PluginSettings

    tmp = tmp_path_factory.mktemp("models-and-settings")
    server = WeightsServer()
    entries = json.loads((FIXTURES / "extra_models.json").read_text()) + [
        {"name": "release-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/release-model.pt", "download_url": server.add_file("r.pt", tiny_weights),
         "size_bytes": tiny_weights.stat().st_size},
        {"name": "slow-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/slow-model.pt",
         "download_url": server.add_file("big.pt", random_file(tmp / "big.pt", 3_000_000))},
        {"name": "no-url-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/no-url.pt"},
    ]
    (tmp / "registry").mkdir()
    (tmp / "registry" / "models.json").write_text(json.dumps(entries))
    shutil.copytree(FIXTURES / "model_configs", tmp / "registry" / "model_configs")
    home = tmp / "home"
    settings = PluginSettings(interpreter=sys.executable, output_folder=str(tmp / "results"), tile_size=TILE,
                              confirm_above_s=0)
    manager = BackendManager(settings, state_dir=tmp / "state", extra_env={
        "REMOTECLIP_CACHE": str(tmp / "cache"), "HF_HUB_OFFLINE": "1", "REMOTECLIP_HOME": str(home),
        "REMOTECLIP_EXTRA_MODELS": str(tmp / "registry" / "models.json")})
    manager.client()
    yield manager, server, home
    manager.stop()
    server.close()


@pytest.fixture
def plugin(qgis_iface, processing, served):
    import remoteclip_qgis
    from remoteclip_qgis.backend_process import set_manager

    manager = served[0]
    previous = set_manager(manager)
    saved = (manager.settings.default_model, manager.settings.weights)
    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    qgis_iface.messageBar().clear_messages()
    yield plugin
    set_manager(None)  # unload must not stop the module's backend
    plugin.unload()
    set_manager(previous)
    manager.settings.default_model, manager.settings.weights = saved
    manager.settings.save()
    QgsProject.instance().removeAllMapLayers()


def _choose(dock, name: str) -> None:
    index = dock.model_combo.findData(name)
    assert index >= 0, name
    dock.model_combo.setCurrentIndex(index)


def test_a_model_without_weights_is_downloaded_from_the_dock(plugin, served, qgis_iface, tiny_weights):
    manager, server, home = served
    dock = plugin.dock
    dock._fill_models(manager.models(start=True))
    labels = {dock.model_combo.itemData(i): dock.model_combo.itemText(i) for i in range(dock.model_combo.count())}
    size_mb = f"{tiny_weights.stat().st_size / 1e6:.1f} MB"
    assert labels["release-model"] == f"release-model (download, {size_mb})"
    assert labels["no-url-model"] == "no-url-model (choose a weights file)"
    assert labels["remoteclip-qgis-small"] == "remoteclip-qgis-small (weights present)"
    _choose(dock, "release-model")
    row = dock.weights_row
    assert not row.isHidden() and not row.download_button.isHidden() and not row.choose_button.isHidden()
    assert row.download_button.text() == f"Download ({size_mb})"
    assert manager.settings.default_model == "release-model"  # one picker: the toolbar's search uses it too
    row.download_button.click()
    task = dock.download_task
    assert task is not None and not row.progress.isHidden() and row.download_button.isHidden()
    wait_for(lambda: dock.download_task is None, 60)
    assert task.ok and task.done_bytes == tiny_weights.stat().st_size
    assert (home / "weights" / "release-model.pt").read_bytes() == tiny_weights.read_bytes()
    assert "weights downloaded" in " ".join(qgis_iface.messageBar().get_messages(Qgis.Success))
    assert dock.model_combo.currentText() == "release-model (weights present)" and row.isHidden()
    # the downloaded model runs a search from the toolbar (its weights found by the backend alone)
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    search = plugin.search("lake")
    assert search.params.model == "release-model" and not search.params.weights
    wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, 180)
    from remoteclip_qgis.jobs import Done

    assert isinstance(search.outcome, Done), search.outcome


def test_a_cancelled_download_says_so_and_keeps_nothing(plugin, served, qgis_iface):
    manager, server, home = served
    dock = plugin.dock
    dock._fill_models(manager.models(start=True))
    _choose(dock, "slow-model")
    server.slow_s = 0.05
    try:
        task = dock.download_model("slow-model")
        wait_for(lambda: task.done_bytes > 0, 30)
        dock.weights_row.cancel_button.click()
        wait_for(lambda: dock.download_task is None, 30)
    finally:
        server.slow_s = 0.0
    assert task.cancelled and not task.ok
    assert "RemoteCLIP:Download of slow-model cancelled: nothing was kept" in qgis_iface.messageBar().get_messages(
        Qgis.Info)
    assert not [p for p in (home / "weights").iterdir() if "slow" in p.name]
    assert not dock.weights_row.download_button.isHidden()  # offered again


def test_a_chosen_file_is_sent_as_weights_and_errors_have_no_flags(plugin, served, qgis_iface, tiny_weights):
    manager = served[0]
    dock = plugin.dock
    dock._fill_models(manager.models(start=True))
    _choose(dock, "no-url-model")
    assert dock.weights_row.download_button.isHidden() and not dock.weights_row.choose_button.isHidden()
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    failed = plugin.search("lake")  # no weights anywhere: the backend's line, worded for people
    wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, 120)
    shown = qgis_iface.messageBar().get_messages(Qgis.Critical)
    assert shown and any("no-url-model" in m for m in shown), shown
    assert not any("--" in m or "(HTTP" in m for m in shown), shown
    assert "choose its weights file" in failed.outcome.reason
    dock.set_weights("no-url-model", str(tiny_weights))  # what "Choose file…" emits
    assert manager.settings.weights == str(tiny_weights)
    assert dock.weights_row.label.text() == f"Weights file: {tiny_weights}"
    task = plugin.search("lake")
    assert task.params.model == "no-url-model" and task.params.weights == str(tiny_weights)
    wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, 180)
    from remoteclip_qgis.jobs import Done

    assert isinstance(task.outcome, Done), task.outcome


def test_user_strings_carry_no_command_line_flags():
    """Every tr() source of the plugin (the .ts lists them): a QGIS user never types --flags."""
    import xml.etree.ElementTree as ET

    sources = [m.findtext("source") for m in ET.parse(ROOT / "i18n" / "remoteclip_qgis_de.ts").iter("message")]
    assert len(sources) > 100
    assert [s for s in sources if s and " --" in s] == []


# ------------------------------------------------------------------ settings dialog


def test_settings_dialog_switches_fields_by_mode_and_keeps_the_model(qgis_app):
    from remoteclip_qgis.settings import PluginSettings
    from remoteclip_qgis.settings_dialog import SettingsDialog

    s = PluginSettings(mode="local", url="http://127.0.0.1:1234", token="t", default_model="tiny-local",
                       weights="/w.pt", tile_size=64)
    dialog = SettingsDialog(s)
    assert not hasattr(dialog, "model") and not hasattr(dialog, "weights")  # the dock's picker is the only one
    assert dialog.interpreter.isEnabled() and dialog.torch_index.isEnabled()
    assert not dialog.url.isEnabled() and not dialog.token.isEnabled()
    dialog.remote_radio.setChecked(True)
    assert dialog.url.isEnabled() and dialog.token.isEnabled() and not dialog.interpreter.isEnabled()
    changed = dialog.settings()
    assert changed.mode == "remote" and (changed.default_model, changed.weights) == ("tiny-local", "/w.pt")
    assert dialog.settings() == PluginSettings(**{**s.__dict__, "mode": "remote"})
    dialog.deleteLater()


def test_connection_test_says_ok_refused_or_unreachable_in_one_line(qgis_app, served):
    from remoteclip_qgis.settings import PluginSettings
    from remoteclip_qgis.settings_dialog import SettingsDialog, connection_line

    manager = served[0]
    conn = manager.client().connection
    n = len(manager.client().models())
    version = manager.client().health()["version"]
    remote = PluginSettings(mode="remote", url=conn.url, token=conn.token)
    assert connection_line(remote) == f"Test connection: ok (backend {version}, {n} models)"
    wrong = PluginSettings(mode="remote", url=conn.url, token="wrong")
    assert connection_line(wrong) == "Test connection: refused (wrong token)"
    line = connection_line(PluginSettings(mode="remote", url="http://127.0.0.1:9", token="t"))
    assert line.startswith("Test connection: unreachable (") and "\n" not in line
    assert connection_line(manager.settings, manager) == f"Test connection: ok (backend {version}, {n} models)"
    dialog = SettingsDialog(wrong, manager=manager)  # through the button: a worker thread, then the label
    dialog.test_button.click()
    wait_for(lambda: not dialog.testing, 30)
    assert dialog.test_label.text() == "Test connection: refused (wrong token)"
    dialog.deleteLater()


# ------------------------------------------------------------------ toolbar and menu


def test_three_toolbar_icons_differ_and_the_menu_is_under_raster(qgis_iface, processing):
    import configparser

    import remoteclip_qgis

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        actions = [plugin.similar_action, plugin.settings_action, plugin.dock_action]
        assert all(a in plugin.toolbar.actions() for a in actions)
        images = [a.icon().pixmap(32, 32).toImage() for a in actions]
        assert all(not img.isNull() for img in images)
        assert images[0] != images[1] and images[1] != images[2] and images[0] != images[2]
        menu = qgis_iface.raster_menu[plugin.menu]
        assert {id(a) for a in menu} == {id(plugin.settings_action), id(plugin.env_action), id(plugin.dock_action)}
        meta = configparser.ConfigParser()
        meta.read(ROOT / "metadata.txt")
        assert meta["general"]["category"] == "Raster"
    finally:
        plugin.unload()
    assert plugin.menu not in qgis_iface.raster_menu
