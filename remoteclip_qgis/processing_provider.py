"""The Processing provider "remoteclip" ("RemoteCLIP")."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .processing_algorithms import ALGORITHMS

PLUGIN_DIR = Path(__file__).resolve().parent


def icon_path(name: str = "icon.svg") -> str:
    """The SVG ``name`` in the plugin's ``resources/`` (a packaged plugin) or beside it (a source checkout); ""
    when missing. Icons: icon.svg (the plugin), icon_similar.svg, icon_settings.svg, icon_panel.svg."""
    for candidate in (PLUGIN_DIR / "resources" / name, PLUGIN_DIR.parent / "resources" / name):
        if candidate.exists():
            return str(candidate)
    return ""


class RemoteClipProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "remoteclip"

    def name(self) -> str:
        return "RemoteCLIP"

    def longName(self) -> str:  # noqa: N802
        return "RemoteCLIP"

    def icon(self) -> QIcon:
        path = icon_path()
        return QIcon(path) if path else super().icon()

    def loadAlgorithms(self) -> None:  # noqa: N802
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
