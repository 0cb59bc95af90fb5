"""QGIS's own Python must never load torch or the backend: import every plugin module in Debian's
system Python (no venv) and look at sys.modules."""

from __future__ import annotations

import pkgutil
import subprocess

from .conftest import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"


def test_plugin_modules_import_without_torch_or_backend():
    import remoteclip_qgis

    modules = sorted(f"remoteclip_qgis.{m.name}" for m in pkgutil.iter_modules(remoteclip_qgis.__path__))
    assert {"remoteclip_qgis.plugin", "remoteclip_qgis.processing_algorithms", "remoteclip_qgis.jobs"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "sys.path.append('/usr/share/qgis/python/plugins')\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'backend', 'open_clip', 'rasterio',"
        " 'numpy', 'fastapi'))\n"
        "print('BAD', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([SYSTEM_PYTHON, "-c", code], cwd="/", capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": "/tmp"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
