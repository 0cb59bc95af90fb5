"""Every user-facing string has a German and a French translation, and the compiled .qm is used."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from qgis.PyQt.QtCore import QCoreApplication

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "i18n"))
import update_ts  # noqa: E402


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_every_string_is_translated(lang):
    strings = update_ts.source_strings()
    assert len(strings) > 50 and "Text search" in strings
    ts = update_ts.read_ts(ROOT / "i18n" / f"remoteclip_qgis_{lang}.ts")
    missing = [s for s in strings if not ts.get(s, ("", False))[1]]
    assert not missing
    for source in strings:  # placeholders survive translation
        for n in range(3):
            assert (f"{{{n}}}" in source) == (f"{{{n}}}" in ts[source][0]), source


@pytest.mark.skipif(shutil.which("lrelease") is None, reason="lrelease (qttools5-dev-tools) not installed")
@pytest.mark.parametrize("lang, expected", [("de", "Textsuche"), ("fr", "Recherche textuelle")])
def test_compiled_translation_is_loaded_for_the_locale(qgis_app, tmp_path, lang, expected):
    from remoteclip_qgis.i18n import install_translator, tr

    ts = ROOT / "i18n" / f"remoteclip_qgis_{lang}.ts"
    subprocess.run(["lrelease", "-silent", str(ts), "-qm", str(tmp_path / f"remoteclip_qgis_{lang}.qm")],
                   check=True)
    translator = install_translator(f"{lang}_XX", folders=[tmp_path])
    assert translator is not None
    try:
        assert tr("Text search") == expected
    finally:
        QCoreApplication.removeTranslator(translator)
    assert tr("Text search") == "Text search"
    assert install_translator("xx_YY", folders=[tmp_path]) is None
