"""RemoteCLIP backend: model registry, raster tiling, embedding store, jobs, HTTP service and CLI.

The QGIS plugin never imports this package; it talks to it over loopback HTTP.
"""

__version__ = "0.1.0"
