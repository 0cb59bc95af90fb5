"""Backend lifecycle from the plugin's side: start, restart after a crash, stop; remote mode starts nothing."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from remoteclip_qgis.backend_client import BackendError
from remoteclip_qgis.backend_process import BackendManager
from remoteclip_qgis.settings import PluginSettings, backend_root, default_interpreter


def test_defaults_find_the_checkout():
    from .conftest import ROOT

    assert backend_root() == ROOT
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        assert default_interpreter() == str(venv)


def test_start_restart_and_plugin_unload_stops_it(tmp_path, qgis_iface):
    manager = BackendManager(PluginSettings(interpreter=sys.executable), state_dir=tmp_path / "state",
                             extra_env={"REMOTECLIP_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"})
    try:
        client = manager.client()
        assert client.health()["status"] == "ok" and manager.process_alive()
        assert "tiny-local" in [m["name"] for m in client.models()]
        first = manager.pid
        os.kill(first, signal.SIGKILL)  # a crash: the next call notices and starts a new one
        deadline = time.time() + 10
        while manager.process_alive():
            assert time.time() < deadline
            time.sleep(0.05)
        client = manager.client()
        assert manager.pid != first and manager.restarts == 1 and client.health()["status"] == "ok"
        # connect to it as a "remote" backend: nothing new is started
        url, token = client.connection.url, client.connection.token
        remote = BackendManager(PluginSettings(mode="remote", url=url, token=token))
        assert remote.client().models() and remote.pid is None
        remote.stop()
        assert manager.process_alive()
        pid = manager.pid
        # the plugin's unload stops the shared backend (terminate: it removes its state file)
        import remoteclip_qgis
        from remoteclip_qgis.backend_process import get_manager, set_manager

        previous = set_manager(manager)
        plugin = remoteclip_qgis.classFactory(qgis_iface)
        plugin.initGui()
        plugin.unload()
        assert not manager.process_alive() and not manager.state_file.exists()
        assert get_manager() is not manager
        set_manager(previous)
    finally:
        pid = pid if "pid" in locals() else manager.pid
        manager.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_remote_errors_are_one_line():
    with pytest.raises(BackendError, match="not reachable"):
        BackendManager(PluginSettings(mode="remote", url="http://127.0.0.1:9", token="x")).client()
    with pytest.raises(BackendError, match="no URL"):
        BackendManager(PluginSettings(mode="remote")).client()


def test_a_missing_interpreter_is_a_clear_error(tmp_path):
    manager = BackendManager(PluginSettings(interpreter=str(tmp_path / "nope" / "python")), state_dir=tmp_path)
    with pytest.raises(BackendError, match="backend Python not found"):
        manager.client()


def test_a_backend_that_dies_while_starting_reports_its_last_line(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'error: no module named backend, really' >&2\nexit 3\n")
    fake.chmod(0o755)
    manager = BackendManager(PluginSettings(interpreter=str(fake)), state_dir=tmp_path / "s")
    with pytest.raises(BackendError, match="stopped while starting: error: no module named backend, really"):
        manager.client()


def test_settings_round_trip_through_qgssettings(qgis_app):
    from qgis.core import QgsSettings

    group = "remoteclip-test"
    s = PluginSettings(interpreter="/opt/py", mode="remote", url="http://127.0.0.1:1234", token="t",
                       default_model="remoteclip-rn50", weights="/w.pt", output_folder="/tmp/o", tile_size=96)
    try:
        s.save(group)
        assert PluginSettings.load(group) == s
        QgsSettings().setValue(f"{group}/mode", "bogus")
        QgsSettings().setValue(f"{group}/tile_size", "not a number")
        QgsSettings().setValue(f"{group}/precision", "fp16")
        loaded = PluginSettings.load(group)
        assert loaded.mode == "local" and loaded.tile_size == 0 and loaded.precision == "exact"
    finally:
        QgsSettings().remove(group)


def test_settings_dialog_shows_and_returns_settings(qgis_app):
    from remoteclip_qgis.settings_dialog import SettingsDialog

    s = PluginSettings(mode="remote", url="http://127.0.0.1:1234", token="t", default_model="tiny-local",
                       tile_size=64, output_folder="/tmp/o", confirm_above_s=120, base_python="/usr/bin/python3",
                       torch_index="cpu", precision="int8")
    dialog = SettingsDialog(s)
    assert dialog.settings() == s and not hasattr(dialog, "fast")  # precision: the dock's panel, not a second field
    assert not hasattr(dialog, "tile_size")  # one tiling state: the dock's panel, not a second field here
    dialog.torch_index.setCurrentText("https://mirror.example/whl")
    dialog.confirm.setValue(0)
    changed = dialog.settings()
    assert (changed.tile_size, changed.torch_index, changed.confirm_above_s) == (64, "https://mirror.example/whl", 0)
    dialog.deleteLater()
