"""The backend's own environment: finding a Python, choosing the PyTorch build, and creating the venv
as a cancellable QgsTask (real venvs, real pip). The full environment (torch and all, about 6 GB) is
created by the plugin itself in the desktop end-to-end run (tests/desktop)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from qgis.core import QgsApplication

from remoteclip_qgis.backend_env import (
    READY_MARKER,
    BackendEnvError,
    EnvPlan,
    TorchBuild,
    choose_torch_build,
    env_python,
    find_python,
    is_ready,
    make_plan,
    nvidia_gpus,
    probe_python,
)
from remoteclip_qgis.env_task import BackendEnvTask, install_progress, last_error_line

from .conftest import ROOT, wait_for

NO_INDEX = TorchBuild("pypi", None, "test")


def test_torch_build_follows_the_machine():
    assert choose_torch_build("auto", "Linux", gpus=["GPU 0: NVIDIA H100 80GB HBM3"]).index_url.endswith("/cu128")
    cpu = choose_torch_build("auto", "Linux", gpus=[])
    assert cpu.kind == "cpu" and cpu.index_url == "https://download.pytorch.org/whl/cpu"
    assert choose_torch_build("auto", "Windows", gpus=[]).kind == "cpu"
    assert choose_torch_build("auto", "Darwin", gpus=[]).index_url is None
    assert choose_torch_build("pypi", "Linux", gpus=["GPU 0"]).index_url is None
    assert choose_torch_build("cuda", "Linux", gpus=[]).kind == "cuda"
    assert choose_torch_build("https://mirror.example/whl").index_url == "https://mirror.example/whl"


def test_gpus_are_read_from_nvidia_smi(tmp_path):
    """No GPU here: a stand-in nvidia-smi prints what the real one prints on a lent H100."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)'\n")
    fake.chmod(0o755)
    assert nvidia_gpus(str(fake)) == ["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)"]
    assert nvidia_gpus(str(tmp_path / "missing")) == []


def test_a_python_is_found_and_bad_ones_are_refused(tmp_path):
    found = find_python()
    assert tuple(int(x) for x in found.version.split(".")) >= (3, 10) and os.path.isfile(found.path)
    assert probe_python(sys.executable) is not None
    not_python = tmp_path / "python3"
    not_python.write_text("#!/bin/sh\nexit 0\n")
    not_python.chmod(0o755)
    assert probe_python(str(not_python)) is None
    with pytest.raises(BackendEnvError, match="not a usable Python"):
        find_python(str(not_python))
    with pytest.raises(BackendEnvError, match="no requirements file"):
        make_plan(tmp_path / "env", tmp_path / "missing.txt")


def test_plan_installs_the_pinned_requirements_from_the_chosen_index(tmp_path):
    plan = make_plan(tmp_path / "env", ROOT / "requirements.txt", torch_choice="cpu")
    (venv, install, check) = plan.steps()
    assert venv[1][1:] == ["-m", "venv", str(tmp_path / "env")]
    assert install[1][:3] == [str(env_python(tmp_path / "env")), "-m", "pip"]
    assert install[1][install[1].index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert install[1][-2:] == ["-r", str(ROOT / "requirements.txt")]
    assert "import torch" in check[1][-1]
    assert "about 1.5 GB" in plan.summary() and str(tmp_path / "env") in plan.summary()


def test_pip_output_drives_progress_and_errors():
    assert install_progress([]) == 0
    assert 0 < install_progress(["Collecting torch==2.14.1"] * 10) < install_progress(["Collecting x"] * 40) <= 0.8
    assert install_progress(["Installing collected packages: six"]) == 0.9
    assert last_error_line(["Collecting x", "ERROR: No matching distribution found for x", "notice"]).startswith(
        "ERROR: No matching")


def _plan(tmp_path, requirements: str, check: str) -> EnvPlan:
    req = tmp_path / "requirements.txt"
    req.write_text(requirements)
    return EnvPlan(find_python(), tmp_path / "backend-env", req, NO_INDEX, check_code=check)


def _run(task, timeout=300.0):
    done = []
    task.on_finished = done.append
    QgsApplication.taskManager().addTask(task)
    wait_for(lambda: bool(done), timeout=timeout)
    return done[0]


def test_a_created_environment_is_marked_ready(qgis_app, tmp_path):
    plan = _plan(tmp_path, "six\n", "import six; print(six.__version__)")
    task = _run(BackendEnvTask(plan, probe_index=False))
    assert task.ok and task.error is None and is_ready(plan.env_dir)
    assert task.torch_version and task.torch_version[0].isdigit()  # the check step's last line
    out = subprocess.run([str(plan.interpreter), "-c", "import six, sys; print(sys.prefix)"], capture_output=True,
                         text=True, check=True)
    assert Path(out.stdout.strip()) == plan.env_dir
    log = task.log_file.read_text()
    assert "-m venv" in log and "Installing collected packages: six" in log and "ready:" in log


def test_a_failed_install_leaves_nothing(qgis_app, tmp_path):
    plan = _plan(tmp_path, "remoteclip-qgis-no-such-package==9.9.9\n", "print(1)")
    task = _run(BackendEnvTask(plan, probe_index=False))
    assert not task.ok and not task.cancelled
    assert task.error.startswith("install step failed: ERROR:") and "\n" not in task.error
    assert not plan.env_dir.exists() and task.log_file.exists()


def test_cancel_stops_pip_and_removes_the_venv(qgis_app, tmp_path):
    plan = _plan(tmp_path, (ROOT / "requirements.txt").read_text(), "print(1)")
    task = BackendEnvTask(plan, probe_index=False)
    done = []
    task.on_finished = done.append
    QgsApplication.taskManager().addTask(task)
    wait_for(lambda: task.step == "install" and task.progress() > 5.5, timeout=180)  # pip is resolving
    task.cancel()
    wait_for(lambda: bool(done), timeout=60)
    assert task.cancelled and not task.ok
    assert not plan.env_dir.exists() and not (plan.env_dir / READY_MARKER).exists()


def test_missing_backend_python_is_recognised(qgis_app, tmp_path):
    from remoteclip_qgis.backend_client import BackendEnvMissing
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.settings import PluginSettings

    manager = BackendManager(PluginSettings(interpreter=str(tmp_path / "nowhere" / "python")), state_dir=tmp_path)
    with pytest.raises(BackendEnvMissing, match="create the backend environment"):
        manager.client()
    bare = tmp_path / "bare"
    subprocess.run([find_python().path, "-m", "venv", "--without-pip", str(bare)], check=True)
    manager = BackendManager(PluginSettings(interpreter=str(env_python(bare))), state_dir=tmp_path / "s2")
    with pytest.raises(BackendEnvMissing, match="lacks its packages"):
        manager.client()


def test_first_search_without_an_environment_offers_to_create_it(qgis_iface, processing, tmp_path, monkeypatch):
    """No backend Python: the search ends in the offer; "no" leaves one message, "yes" starts the task."""
    from qgis.core import Qgis, QgsProject, QgsRasterLayer

    import remoteclip_qgis
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings, default_interpreter

    from .conftest import SAMPLE

    monkeypatch.setenv("REMOTECLIP_BACKEND_ENV", str(tmp_path / "backend-env"))
    assert default_interpreter(tmp_path / "plugin") == str(env_python(tmp_path / "backend-env"))
    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    offers = []
    answers = iter([False, True])

    def ask(plan, iface):
        offers.append(plan)
        return next(answers)

    monkeypatch.setattr(type(plugin), "ask_create_env", staticmethod(ask))
    # a source checkout's .venv would be found first: name the missing Python, as a user's setting would
    missing = str(env_python(tmp_path / "backend-env"))
    previous = set_manager(BackendManager(PluginSettings(interpreter=missing, default_model="tiny-local"),
                                          state_dir=tmp_path / "state"))
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    try:
        qgis_iface.messageBar().clear_messages()
        plugin.search("lake")
        wait_for(lambda: not plugin.tasks and offers, timeout=60)
        assert offers[0].env_dir == tmp_path / "backend-env" and plugin.env_task is None
        assert any("needs its backend environment" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
        plugin.search("lake")
        wait_for(lambda: len(offers) == 2 and plugin.env_task is not None, timeout=60)
        task = plugin.env_task
        wait_for(lambda: task.step in ("venv", "install"), timeout=60)
        task.cancel()   # from the task manager: the half-made venv is removed
        wait_for(lambda: plugin.env_task is None, timeout=60)
        assert task.cancelled and not (tmp_path / "backend-env").exists() and not plugin.tasks
    finally:
        set_manager(previous)
        plugin.unload()
        QgsProject.instance().removeAllMapLayers()


def test_the_model_step_fetches_the_default_model_once(tmp_path, tiny_weights):
    """The command the environment runs last: the backend's own download, into its data folder (a loopback server
    stands in for the release URL), and nothing fetched again when the weights are there."""
    import json

    from remoteclip_qgis.backend_env import model_command
    from tests.weights_server import WeightsServer

    server = WeightsServer()
    try:
        registry = tmp_path / "models.json"
        registry.write_text(json.dumps([{"name": "release-model", "arch": "Tiny-ViT-Test", "source": "local",
                                         "default_path": "{home}/weights/release-model.pt",
                                         "download_url": server.add_file("r.pt", tiny_weights)}]))
        env = {**os.environ, "REMOTECLIP_HOME": str(tmp_path / "home"), "REMOTECLIP_EXTRA_MODELS": str(registry)}
        for _ in range(2):
            out = subprocess.run(model_command(sys.executable, ROOT, "release-model"), capture_output=True,
                                 text=True, env=env, cwd=tmp_path, timeout=120)
            assert out.returncode == 0, out.stderr
        assert (tmp_path / "home" / "weights" / "release-model.pt").read_bytes() == tiny_weights.read_bytes()
        assert [r for r in server.requests if r[0] == "GET"] == [("GET", "/files/r.pt")]
    finally:
        server.close()


def test_a_model_that_cannot_be_fetched_leaves_the_environment_ready(qgis_app, tmp_path):
    """No model without the backend's packages (or offline): the environment is ready all the same, and one line
    says the model can be downloaded from the panel."""
    plan = _plan(tmp_path, "six\n", "import six; print(six.__version__)")
    plan.backend_root, plan.model = ROOT, "remoteclip-qgis-small"
    assert "then the model remoteclip-qgis-small" in plan.summary()
    task = _run(BackendEnvTask(plan, probe_index=False))
    assert task.ok and is_ready(plan.env_dir)
    assert task.model_note.startswith("remoteclip-qgis-small was not downloaded (")
    assert task.model_note.endswith("download it from the RemoteCLIP panel") and "\n" not in task.model_note
    assert "$ " + str(plan.interpreter) + " -c" in task.log_file.read_text()
