"""Collect the plugin's user-facing strings and update ``remoteclip_qgis_<lang>.ts``.

Qt's lupdate cannot read Python and pylupdate5 is not always installed, so this reads the plugin's
source with ``ast``: string literals passed to ``tr(...)``, ``self.tr(...)`` and
``QCoreApplication.translate(CONTEXT, ...)``. Existing translations are kept; new strings are added
as "unfinished"; strings gone from the source are marked "vanished".

    python i18n/update_ts.py            # update every .ts here
    python i18n/update_ts.py --check    # exit 1 when a string has no finished translation
Then ``lrelease i18n/*.ts`` writes the .qm files the plugin loads.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent / "remoteclip_qgis"
CONTEXT = "RemoteClip"


def _literal(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def source_strings(plugin_dir: Path = PLUGIN) -> list[str]:
    found: list[str] = []
    for path in sorted(plugin_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            text = None
            if name == "tr":
                text = _literal(node.args[0])
            elif name == "translate" and len(node.args) >= 2:
                text = _literal(node.args[1])
            if text and text not in found:
                found.append(text)
    return found


def read_ts(path: Path) -> dict[str, tuple[str, bool]]:
    """source -> (translation, finished)."""
    out = {}
    if not path.exists():
        return out
    for message in ET.parse(path).getroot().iter("message"):
        source = message.findtext("source") or ""
        tr_el = message.find("translation")
        text = tr_el.text or "" if tr_el is not None else ""
        finished = tr_el is not None and tr_el.get("type") not in ("unfinished", "vanished", "obsolete")
        out[source] = (text, finished and bool(text))
    return out


def write_ts(path: Path, language: str, strings: list[str], existing: dict[str, tuple[str, bool]]) -> None:
    root = ET.Element("TS", version="2.1", language=language)
    ctx = ET.SubElement(root, "context")
    ET.SubElement(ctx, "name").text = CONTEXT
    for source in strings + [s for s in existing if s not in strings]:
        message = ET.SubElement(ctx, "message")
        ET.SubElement(message, "source").text = source
        text, finished = existing.get(source, ("", False))
        el = ET.SubElement(message, "translation")
        el.text = text
        if source not in strings:
            el.set("type", "vanished")
        elif not finished:
            el.set("type", "unfinished")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    strings = source_strings()
    missing = 0
    for ts in sorted(HERE.glob("remoteclip_qgis_*.ts")):
        language = ts.stem.rsplit("_", 1)[-1]
        existing = read_ts(ts)
        todo = [s for s in strings if not existing.get(s, ("", False))[1]]
        missing += len(todo)
        if "--check" in argv:
            for s in todo:
                print(f"{ts.name}: untranslated: {s}")
        else:
            write_ts(ts, language, strings, existing)
            print(f"{ts.name}: {len(strings)} strings, {len(todo)} untranslated")
    return 1 if ("--check" in argv and missing) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
