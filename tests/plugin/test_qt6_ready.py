"""QGIS 4 (Qt 6) readiness of the plugin's code: no form that PyQt6 refuses and QGIS's migration script
(pyqt5_to_pyqt6.py) or ``scripts/qt6_enums.py`` fix: unscoped Qt and QGIS enums, ``exec_()``, PyQt5 imports,
``QVariant()`` as NULL. The scoped forms run on this QGIS 3.22 (the plugin tests exercise them); metadata.txt
declares the Qt 6 support."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys

from .conftest import ROOT

PLUGIN = ROOT / "remoteclip_qgis"


def test_no_unscoped_enum_nor_exec_underscore_is_left():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "qt6_enums.py"), "--check", str(PLUGIN)],
                          capture_output=True, text=True, timeout=300, env={"QT_QPA_PLATFORM": "offscreen",
                                                                            "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_the_check_finds_the_qt5_only_forms(tmp_path):
    """The check can fail: a file of Qt 5-only forms is reported, then rewritten to the scoped forms."""
    src = tmp_path / "old.py"
    src.write_text("from qgis.core import Qgis, QgsTask\nfrom qgis.PyQt.QtCore import Qt\n"
                   "flags = QgsTask.CanCancel\nlevel = Qgis.Info\nrole = Qt.UserRole\ndialog.exec_()\n")
    script = [sys.executable, str(ROOT / "scripts" / "qt6_enums.py")]
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*script, "--check", str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1 and len(proc.stdout.splitlines()) == 4, proc.stdout
    subprocess.run([*script, str(tmp_path)], check=True, capture_output=True, timeout=300, env=env)
    assert src.read_text().splitlines()[2:] == ["flags = QgsTask.Flag.CanCancel", "level = Qgis.MessageLevel.Info",
                                                "role = Qt.ItemDataRole.UserRole", "dialog.exec()"]


def test_no_pyqt5_imports_or_qvariant_null():
    text = "\n".join(p.read_text() for p in sorted(PLUGIN.glob("*.py")))
    assert not re.search(r"^\s*(from|import) PyQt5", text, re.M)
    assert "QVariant()" not in text and ".exec_(" not in text


def test_metadata_declares_qgis_4():
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    general = meta["general"]
    assert general["qgisMinimumVersion"] == "3.22" and general["qgisMaximumVersion"] == "4.99"
    assert general["supportsQt6"] == "True"
