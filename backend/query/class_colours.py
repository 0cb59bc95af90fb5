"""Class colours keyed by class name (``#rrggbb``): the class GeoTIFF's colour table, the same colours as the
plugin's class polygons.

The table is data, ``resources/class_colours.json`` (:func:`~backend.config.resources_dir`), read by both sides;
the plugin never imports the backend, so the short matching rule below is written twice, here and in
``remoteclip_qgis/class_colours.py``: ``tests/plugin/test_class_colours.py`` checks that both give the same colour
for the same names. The rule (the JSON's "about" says it too): the whole name listed gives its colour; else the
longest listed run of its words, last first, gives that colour with its lightness moved by a step chosen by the
name's SHA-256; else a hue from that hash.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from ..config import resources_dir

PALETTE_FILE = "class_colours.json"


def palette_path() -> Path | None:
    """The palette JSON in the resources folder; None when absent (every class then gets its hash colour)."""
    path = resources_dir() / PALETTE_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _palette() -> tuple[dict[str, str], set[str], list[float], float, float]:
    path = palette_path()
    data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    table = {key: colour for family in data.get("families", {}).values() for key, colour in family.items()}
    fallback = data.get("fallback", {})
    return (table, {w for key in table for w in key.split()}, list(data.get("variation", [0.1])),
            float(fallback.get("lightness", 0.5)), float(fallback.get("saturation", 0.6)))


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in (r, g, b))


def class_colour(name: str) -> str:
    """The colour of class ``name`` as ``#rrggbb`` (the same for the same name, whatever else was asked)."""
    table, key_words, variation, lightness, saturation = _palette()
    words = []
    for word in re.findall(r"[^\W_]+", str(name).lower()):
        for suffix in ("", "s", "es"):  # "lakes" -> "lake", "beaches" -> "beach"; only to a listed word
            if (not suffix or word.endswith(suffix)) and word[:len(word) - len(suffix)] in key_words:
                word = word[:len(word) - len(suffix)]
                break
        words.append(word)
    whole = " ".join(words)
    digest = hashlib.sha256(whole.encode("utf-8")).digest()
    if whole in table:
        return table[whole]
    for n in range(len(words) - 1, 0, -1):
        for start in range(len(words) - n, -1, -1):
            key = " ".join(words[start:start + n])
            if key in table:
                colour = table[key]
                h, light, s = colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))
                light = min(0.9, max(0.1, light + variation[digest[4] % len(variation)]))
                return _hex(*colorsys.hls_to_rgb(h, light, s))
    hue = int.from_bytes(digest[:4], "big") % 360
    return _hex(*colorsys.hls_to_rgb(hue / 360.0, lightness, saturation))
