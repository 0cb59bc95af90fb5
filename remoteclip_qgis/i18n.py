"""User-facing strings go through ``tr`` (one translation context for the whole plugin) and the
translator for the user's locale is installed from ``i18n/remoteclip_qgis_<lang>.qm``."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, QLocale, QSettings, QTranslator

CONTEXT = "RemoteClip"
PLUGIN_DIR = Path(__file__).resolve().parent


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def translation_dirs() -> list[Path]:
    """``i18n/`` inside the plugin (a packaged plugin), then beside it (a source checkout)."""
    return [PLUGIN_DIR / "i18n", PLUGIN_DIR.parent / "i18n"]


def user_locale() -> str:
    """QGIS's chosen UI locale ("locale/userLocale", e.g. "de_DE"), else the system's."""
    value = QSettings().value("locale/userLocale", "") or ""
    return str(value or QLocale.system().name())


def install_translator(locale: str | None = None, folders: list[Path] | None = None) -> QTranslator | None:
    """Load and install the .qm for ``locale`` (default: the user's); returns it (keep a reference, and
    ``QCoreApplication.removeTranslator`` it on unload) or None when there is none for that language."""
    locale = locale or user_locale()
    names = [f"remoteclip_qgis_{locale}", f"remoteclip_qgis_{locale[:2]}"]
    for folder in folders or translation_dirs():
        for name in names:
            qm = folder / f"{name}.qm"
            if qm.exists():
                translator = QTranslator()
                if translator.load(str(qm)):
                    QCoreApplication.installTranslator(translator)
                    return translator
    return None
