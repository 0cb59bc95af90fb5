"""The plugin's settings: a plain dataclass, read from and written to QgsSettings (``remoteclip/...``).

Kept apart from any UI so tasks, Processing algorithms and tests can build one directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from .backend_env import ENV_FOLDER, env_python
from .i18n import tr
from .params import DEFAULT_OVERLAP, PRECISIONS

PLUGIN_DIR = Path(__file__).resolve().parent
SETTINGS_GROUP = "remoteclip"
MODES = ("local", "remote")


def managed_env_dir() -> Path:
    """Where the plugin creates the backend's own venv: ``<QGIS profile>/remoteclip-qgis/backend-env``
    (``$REMOTECLIP_BACKEND_ENV`` overrides it)."""
    if os.environ.get("REMOTECLIP_BACKEND_ENV"):
        return Path(os.environ["REMOTECLIP_BACKEND_ENV"])
    try:
        from qgis.core import QgsApplication

        profile = QgsApplication.qgisSettingsDirPath()
    except ImportError:  # pragma: no cover - outside QGIS
        profile = ""
    base = Path(profile) if profile else Path.home() / ".local" / "share"
    return base / "remoteclip-qgis" / ENV_FOLDER


def default_interpreter(plugin_dir: Path = PLUGIN_DIR) -> str:
    """The Python that runs the backend when none is set: a source checkout's ``<repo>/.venv``, else the
    venv the plugin created (once complete), else that venv's path-to-be (starting fails with "not
    found", and the plugin offers to create it).

    QGIS's own ``sys.executable`` is the QGIS binary, never a Python that could carry torch; nor is a
    python3 on PATH assumed to carry it.
    """
    for venv in (plugin_dir.parent / ".venv", plugin_dir / ".venv"):
        for rel in ("bin/python", "Scripts/python.exe"):
            candidate = venv / rel
            if candidate.exists():
                return str(candidate)
    return str(env_python(managed_env_dir()))


def backend_root(plugin_dir: Path = PLUGIN_DIR) -> Path | None:
    """The folder holding the ``backend`` package: the plugin folder's parent (a source checkout),
    else the plugin folder itself (a bundled ``backend/``); None when neither has one."""
    for root in (plugin_dir.parent, plugin_dir):
        if (root / "backend" / "__main__.py").exists():
            return root
    return None


@dataclass
class PluginSettings:
    """Everything the user can set; ``None``/empty means "let the backend choose"."""

    interpreter: str = ""          # Python that runs the backend (empty: default_interpreter())
    mode: str = "local"            # "local": start a backend process; "remote": connect to url + token
    url: str = ""                  # remote mode: e.g. http://127.0.0.1:8765 (an SSH tunnel to a GPU box)
    token: str = ""                # remote mode: the bearer token from that backend's state file
    default_model: str = ""        # empty: the backend's default (best model whose weights are present)
    weights: str = ""              # optional checkpoint file for the model
    output_folder: str = ""        # empty: the project's folder, else a folder in the user's cache
    # The one tiling state: the dock's Tiling panel writes these, every entry point reads them (params.build_params)
    tile_size: int = 0             # pixels; 0: the model's default (its training ground size, else its input size)
    ground_size_m: float = 0.0     # tile side on the ground, metres; when set, it replaces tile_size
    overlap: float = DEFAULT_OVERLAP  # fraction of a tile shared with its neighbour, 0 to 0.9
    bands: str = ""                # band numbers used as R, G, B, e.g. "3,2,1"; empty: automatic
    precision: str = "exact"       # embeddings: "exact", or "int8" (the backend's fast CPU path, own stores)
    confirm_above_s: int = 60      # ask before an embedding estimated to take longer (seconds; 0: never ask)
    base_python: str = ""          # Python to create the backend's venv from (empty: the best one found)
    torch_index: str = "auto"      # PyTorch build for that venv: auto, cpu, cuda, pypi or an index URL
    search_in: str = ""            # what the toolbar and the locator search: "" the active layer, else a catalogue

    def resolved_interpreter(self) -> str:
        return self.interpreter or default_interpreter()

    @classmethod
    def load(cls, group: str = SETTINGS_GROUP) -> PluginSettings:
        from qgis.core import QgsSettings

        qs = QgsSettings()
        values = {}
        for f in fields(cls):
            default = f.default
            raw = qs.value(f"{group}/{f.name}", default)
            try:
                values[f.name] = type(default)(raw) if raw is not None else default
            except (TypeError, ValueError):
                values[f.name] = default
        settings = cls(**values)
        if settings.mode not in MODES:
            settings.mode = "local"
        if settings.precision not in PRECISIONS:
            settings.precision = "exact"
        if not 0.0 <= settings.overlap <= 0.9:
            settings.overlap = DEFAULT_OVERLAP
        return settings

    def save(self, group: str = SETTINGS_GROUP) -> None:
        from qgis.core import QgsSettings

        qs = QgsSettings()
        for f in fields(self):
            qs.setValue(f"{group}/{f.name}", getattr(self, f.name))


def fallback_output_folder() -> Path:
    """Where results go when no folder is set and the project has none to write to (unsaved, or read-only):
    ``$XDG_CACHE_HOME/remoteclip-qgis/results``, default ``~/.cache/remoteclip-qgis/results``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "remoteclip-qgis" / "results"


def short_path(path: Path) -> str:
    """``path`` with the home folder as ``~`` (for labels)."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home and home != "/" and text.startswith(home + os.sep) else text


def output_folder(settings: PluginSettings) -> Path:
    """Where result GeoPackages go: the chosen folder, else the saved project's folder (``remoteclip/`` in it),
    else :func:`fallback_output_folder` (see :func:`fallback_note`)."""
    if settings.output_folder:
        path = Path(settings.output_folder)
    else:
        path = None
        try:
            from qgis.core import QgsProject

            home = QgsProject.instance().homePath()
            if home and Path(home).is_dir() and os.access(home, os.W_OK):
                path = Path(home) / "remoteclip"
        except ImportError:  # pragma: no cover - outside QGIS
            pass
        if path is None:
            path = fallback_output_folder()
    path.mkdir(parents=True, exist_ok=True)
    return path


_NOTED: set[str] = set()  # fallback folders already named in the message bar this session


def fallback_note(output: str | Path, once: bool = True) -> str | None:
    """The line that says where results went when they went to :func:`fallback_output_folder` (the settings
    name no folder and the project has none), or None for results anywhere else. ``once``: None after the
    first time for the same folder in this QGIS session (the message bar says it once, not on every query)."""
    folder = Path(output).parent
    if folder != fallback_output_folder():
        return None
    if once and str(folder) in _NOTED:
        return None
    _NOTED.add(str(folder))
    return tr("Results are saved in {0}: the project is not saved (or its folder cannot be written). Save the "
              "project to keep them beside it, or choose an output folder in the RemoteCLIP settings.").format(folder)
