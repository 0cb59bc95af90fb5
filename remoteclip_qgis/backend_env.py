"""The backend's own Python environment, created by the plugin on first use.

QGIS's Python cannot carry PyTorch (installing torch into it is the first complaint in every comparable
plugin's tracker), so the backend runs in a venv of its own: made from a Python found on the machine
(or named by the user), with the pinned ``requirements.txt`` that ships beside the backend, and the
PyTorch build chosen for the machine (CUDA wheels with an NVIDIA GPU, CPU wheels without one, PyPI's
own build on macOS or when the PyTorch index cannot be reached).

The venv lives in the QGIS profile (``<profile>/remoteclip-qgis/backend-env``) and counts as ready only
once a marker file is written after its packages were installed and imported: a cancelled or failed
creation is removed, never half used. When it can, the creation also fetches the default model's weights into
the backend's data folder (``python -m backend download``, from the release URL in the backend's registry): the
repository's plugin ZIP carries no checkpoint. A model that cannot be fetched (offline) leaves the environment
ready; the dock offers the download later. Only the standard library here: this runs inside QGIS.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV_FOLDER = "backend-env"
DEFAULT_MODEL = "remoteclip-qgis-small"  # fetched with the environment (8.2 MB) when its weights are not here
READY_MARKER = ".remoteclip-env-ready"
# The Python versions the pins are known to install on, best first (torch 2.14 needs 3.10 or newer).
PYTHON_PREFERENCE = ("3.11", "3.12", "3.10", "3.13")
TORCH_INDEX = "https://download.pytorch.org/whl"
CUDA_WHEELS = "cu128"  # PyTorch's CUDA 12.8 wheels run on drivers from 570 on
IMPORT_CHECK = "import torch, open_clip, rasterio, fastapi, uvicorn; print(torch.__version__)"
# Approximate size on disk, for the question asked before creating it.
APPROX_SIZE_GB = {"cpu": 1.5, "cuda": 6.0, "pypi": 6.0, "macos": 1.5}


class BackendEnvError(Exception):
    """No usable Python, or the environment could not be created; the message says what to do."""


def python_name() -> str:
    return "python.exe" if os.name == "nt" else "python"


def env_python(env_dir: Path) -> Path:
    """The interpreter inside a venv."""
    return env_dir / ("Scripts" if os.name == "nt" else "bin") / python_name()


def is_ready(env_dir: Path) -> bool:
    """Whether a venv was completely created (its packages installed and imported)."""
    return (env_dir / READY_MARKER).is_file() and env_python(env_dir).exists()


# ---------------------------------------------------------------------------------------- Pythons


@dataclass(frozen=True)
class BasePython:
    """A Python that can make venvs: its path and ``major.minor`` version."""

    path: str
    version: str


def probe_python(candidate: str, timeout: float = 20.0) -> BasePython | None:
    """``candidate`` as a BasePython when it runs, is 3.10 or newer and has venv and ensurepip."""
    exe = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
    if exe is None:
        return None
    code = "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
    try:
        out = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=timeout,
                             env=clean_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) < 2:
        return None
    major, minor = (int(x) for x in lines[0].split("."))
    if (major, minor) < (3, 10):
        return None
    return BasePython(lines[1], lines[0])


def find_python(named: str = "") -> BasePython:
    """The Python to make the venv from: the one the user named, else the best one found on PATH.

    QGIS's own ``sys.executable`` is the QGIS binary (or a Python that must stay clean): never used.
    """
    if named:
        found = probe_python(named)
        if found is None:
            raise BackendEnvError(f"{named} is not a usable Python 3.10+ with venv (RemoteCLIP settings)")
        return found
    names = [f"python{v}" for v in PYTHON_PREFERENCE] + ["python3", "python"]
    if os.name == "nt":
        names = ["py"] + names
    found: list[BasePython] = []
    for name in names:
        py = probe_python(name)
        if py is not None and py.path not in (p.path for p in found):
            found.append(py)
    if not found:
        raise BackendEnvError("no Python 3.10 or newer with venv found: install one (python.org, or your "
                              "system's python3-venv) or name it in the RemoteCLIP settings")
    rank = {v: i for i, v in enumerate(PYTHON_PREFERENCE)}
    return min(found, key=lambda p: rank.get(p.version, len(rank)))


# ---------------------------------------------------------------------------------------- torch build


@dataclass(frozen=True)
class TorchBuild:
    """Which PyTorch wheels to install: ``kind`` is cuda, cpu, macos or pypi; ``index_url`` the extra
    package index that serves them (None: PyPI's default build)."""

    kind: str
    index_url: str | None
    reason: str


def nvidia_gpus(nvidia_smi: str | None = None) -> list[str]:
    """Names of the NVIDIA GPUs ``nvidia-smi -L`` lists (empty without a driver)."""
    exe = nvidia_smi or shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip().startswith("GPU ")]


def choose_torch_build(choice: str = "auto", system: str | None = None, gpus: list[str] | None = None) -> TorchBuild:
    """The PyTorch build for this machine.

    ``choice``: "auto" (CUDA wheels when an NVIDIA GPU is present, CPU wheels otherwise; PyPI's build on
    macOS, whose wheels carry Apple's GPU support), "cpu", "cuda", "pypi", or the URL of a package index.
    """
    system = system or platform.system()
    choice = (choice or "auto").strip()
    if choice.startswith(("http://", "https://", "file:")):
        return TorchBuild("custom", choice, "the index named in the RemoteCLIP settings")
    if choice == "pypi":
        return TorchBuild("pypi", None, "PyPI's default build (set in the RemoteCLIP settings)")
    if system == "Darwin":
        return TorchBuild("macos", None, "macOS: PyPI's build, with Apple GPU (MPS) support")
    if choice == "cuda":
        return TorchBuild("cuda", f"{TORCH_INDEX}/{CUDA_WHEELS}", "CUDA wheels (set in the RemoteCLIP settings)")
    if choice == "cpu":
        return TorchBuild("cpu", f"{TORCH_INDEX}/cpu", "CPU wheels (set in the RemoteCLIP settings)")
    gpus = nvidia_gpus() if gpus is None else gpus
    if gpus:
        return TorchBuild("cuda", f"{TORCH_INDEX}/{CUDA_WHEELS}", f"NVIDIA GPU found: {gpus[0]}")
    return TorchBuild("cpu", f"{TORCH_INDEX}/cpu", "no NVIDIA GPU found: CPU wheels (far smaller than CUDA's)")


def index_reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a package index answers (a closed network or a proxy that blocks it: fall back)."""
    if url.startswith("file:"):
        return Path(urllib.request.url2pathname(url[5:].lstrip("/") if os.name == "nt" else url[5:])).exists()
    try:
        with urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + "/torch/", method="HEAD"),
                                    timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


# ---------------------------------------------------------------------------------------- the plan


@dataclass
class EnvPlan:
    """Everything decided before creating the environment; ``steps()`` are the commands to run."""

    python: BasePython
    env_dir: Path
    requirements: Path
    torch: TorchBuild
    notes: list[str] = field(default_factory=list)
    check_code: str = IMPORT_CHECK  # run by the new Python last; its last line is recorded (torch's version)
    backend_root: Path | None = None  # the folder holding the backend package (for the model step)
    model: str = ""  # a model whose weights the new environment fetches, when it can ("": none)

    @property
    def interpreter(self) -> Path:
        return env_python(self.env_dir)

    def pip_install(self) -> list[str]:
        cmd = [str(self.interpreter), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
               "-r", str(self.requirements)]
        if self.torch.index_url:
            cmd[5:5] = ["--extra-index-url", self.torch.index_url]
        return cmd

    def model_step(self) -> tuple[str, list[str]] | None:
        """("model", command) fetching ``model``'s weights with the new Python, or None; run after the
        environment is ready, and its failure leaves it ready (the dock offers the download later)."""
        if not self.model or self.backend_root is None:
            return None
        return ("model", model_command(str(self.interpreter), self.backend_root, self.model))

    def steps(self) -> list[tuple[str, list[str]]]:
        """(what, command) in order: make the venv, install the pinned requirements, import them."""
        return [
            ("venv", [self.python.path, "-m", "venv", str(self.env_dir)]),
            ("install", self.pip_install()),
            ("check", [str(self.interpreter), "-c", self.check_code]),
        ]

    def summary(self) -> str:
        size = APPROX_SIZE_GB.get(self.torch.kind, 6.0)
        fallback = " (PyPI's build, about 6 GB, if that index cannot be reached)" if self.torch.kind in (
            "cpu", "cuda") else ""
        model = f"; then the model {self.model}, when its weights are not here yet" if self.model_step() else ""
        return (f"Python {self.python.version} ({self.python.path}) -> {self.env_dir}; PyTorch: {self.torch.reason}; "
                f"about {size:g} GB on disk{fallback}{model}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["env_dir"], d["requirements"] = str(self.env_dir), str(self.requirements)
        d["backend_root"] = str(self.backend_root) if self.backend_root else None
        return d


def make_plan(env_dir: Path, requirements: Path, named_python: str = "", torch_choice: str = "auto",
              backend_root: Path | None = None, model: str = "") -> EnvPlan:
    """Find a Python and choose the PyTorch build; raises BackendEnvError when there is no usable Python
    or no requirements file beside the backend. ``model``: weights to fetch once the environment is ready."""
    if not Path(requirements).is_file():
        raise BackendEnvError(f"no requirements file at {requirements}: reinstall the plugin ZIP")
    return EnvPlan(find_python(named_python), Path(env_dir), Path(requirements), choose_torch_build(torch_choice),
                   backend_root=Path(backend_root) if backend_root else None, model=model)


def model_command(interpreter: str, backend_root: Path, model: str) -> list[str]:
    """The command fetching ``model``'s weights with ``interpreter`` (``python -m backend download``, the
    backend imported from ``backend_root``); a no-op when they are present already."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from backend.app.cli import main; "
            "sys.exit(main(['download', sys.argv[2]]))")
    return [interpreter, "-c", code, str(backend_root), model]


def clean_env() -> dict[str, str]:
    """The environment for child Pythons: without QGIS's own PYTHONHOME / PYTHONPATH, which would make a
    venv's Python load QGIS's packages (or fail to start)."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__"):
        env.pop(key, None)
    env["PYTHONNOUSERSITE"] = "1"  # the user's site-packages must not leak in
    return env


def mark_ready(plan: EnvPlan, torch_version: str) -> None:
    """Write the marker that makes the venv count as ready (last step of a creation)."""
    info = plan.to_dict()
    info["torch_version"] = torch_version
    info["plugin_python"] = sys.version.split()[0]
    (plan.env_dir / READY_MARKER).write_text(json.dumps(info, indent=1))


def remove_env(env_dir: Path) -> None:
    """Remove a venv that was not completed (cancelled or failed): nothing half-made stays."""
    shutil.rmtree(env_dir, ignore_errors=True)
