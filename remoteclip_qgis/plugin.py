"""The plugin object QGIS loads. The toolbar, dock, Processing provider and tasks build on
backend_client (the QGIS plugin issue); this first version only registers and unloads cleanly."""

from __future__ import annotations


class RemoteClipPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        pass

    def unload(self) -> None:
        pass
