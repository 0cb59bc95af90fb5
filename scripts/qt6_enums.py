"""Qt 6 readiness of the plugin's Python: the forms PyQt6 refuses, found (``--check``) or fixed in place.

QGIS's own migration script (``scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py`` in the QGIS repository; it needs PyQt6 and
QGIS's Qt 6 build to see QGIS's enums) scopes Qt's enums and renames ``exec_``; this does the same by introspecting
the Qt 5 bindings this machine has (Debian's QGIS 3.22, PyQt5 5.15), so QGIS's own enums are scoped too, and only
where the scoped form exists here (``QgsTask.CanCancel`` -> ``QgsTask.Flag.CanCancel``: the same value on QGIS 3.22
and the only form on QGIS 4). QVariant field types stay (QGIS's script too leaves them in its QGIS 3 mode):
``QgsField`` takes QMetaType types only from QGIS 3.38, and ``QVariant.Type.String`` is no form PyQt6 has.

    python scripts/qt6_enums.py --check remoteclip_qgis   # exit 1 and one line per unscoped enum / exec_ call
    python scripts/qt6_enums.py remoteclip_qgis           # rewrite them in place
"""

from __future__ import annotations

import argparse
import ast
import enum
import sys
from pathlib import Path


def _namespaces() -> dict[str, object]:
    """Class names of qgis.core, qgis.gui and PyQt's widgets, core and gui modules -> the classes."""
    from qgis import core, gui
    from qgis.PyQt import QtCore, QtGui, QtWidgets

    out: dict[str, object] = {}
    for module in (QtCore, QtGui, QtWidgets, core, gui):
        for name, value in vars(module).items():
            if name.startswith("Q") and isinstance(value, type):
                out.setdefault(name, value)
    return out


def _is_enum_value(value: object) -> bool:
    return isinstance(value, enum.Enum) or type(type(value)).__name__ == "enumtype"


def _scoped(owner: object, owner_name: str, attr: str) -> str | None:
    """``EnumName`` when ``owner.attr`` is an enum value that ``owner.EnumName.attr`` reaches too, else None."""
    try:
        value = getattr(owner, attr)
    except AttributeError:
        return None
    if not _is_enum_value(value) or isinstance(value, type):
        return None
    enum_name = type(value).__name__
    if enum_name == owner_name:  # the owner is the enum itself (QgsMapLayerType.RasterLayer): scoped already
        return None
    scope = getattr(owner, enum_name, None)
    if scope is not type(value) or getattr(scope, attr, None) != value:
        return None
    return enum_name


def findings(path: Path, namespaces: dict[str, object]) -> list[tuple[int, int, str, str]]:
    """(line, column of the attribute name, old text, new text) for each fix in ``path``; columns in bytes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in namespaces and node.value.id != "QVariant":
            if isinstance(parents.get(node), ast.Attribute) and parents[node].value is node:
                continue  # Owner.EnumName.value: the inner node is the enum, not a value
            name = _scoped(namespaces[node.value.id], node.value.id, node.attr)
            if name is not None:
                out.append((node.end_lineno, node.end_col_offset - len(node.attr), f"{node.value.id}.{node.attr}",
                            f"{node.value.id}.{name}.{node.attr}"))
        if node.attr == "exec_" and isinstance(parents.get(node), ast.Call):
            out.append((node.end_lineno, node.end_col_offset - len(node.attr), "exec_()", "exec()"))
    return out


def fix(path: Path, found: list[tuple[int, int, str, str]]) -> None:
    lines = path.read_bytes().decode("utf-8").splitlines(keepends=True)
    for line, col, old, new in sorted(found, reverse=True):  # right to left: earlier columns stay valid
        raw = lines[line - 1].encode("utf-8")
        attr = old.split(".")[-1].removesuffix("()")
        replacement = new.split(".", 1)[1] if "." in new else new.removesuffix("()")
        assert raw[col:col + len(attr)].decode() == attr, (path, line, old)
        lines[line - 1] = (raw[:col] + replacement.encode() + raw[col + len(attr):]).decode("utf-8")
    path.write_text("".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing; exit 1 when anything is found")
    args = parser.parse_args(argv)
    namespaces = _namespaces()
    total = 0
    for path in sorted(args.folder.rglob("*.py")):
        found = findings(path, namespaces)
        total += len(found)
        for line, col, old, new in found:
            print(f"{path}:{line}:{col}: {old} -> {new}")
        if found and not args.check:
            fix(path, found)
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
