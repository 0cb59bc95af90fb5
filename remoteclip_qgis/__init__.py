"""RemoteCLIP QGIS plugin.

The plugin never imports torch or the backend package: it starts the backend as a separate
process and talks to it over loopback HTTP (see backend/app/service.py).
"""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    from .plugin import RemoteClipPlugin

    return RemoteClipPlugin(iface)
