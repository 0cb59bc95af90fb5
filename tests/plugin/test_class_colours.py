"""Name-keyed class colours: the plugin's and the backend's copies of the rule give the same colour for the same
name (the plugin never imports the backend, so the rule is written twice), from the one table in resources/."""

from __future__ import annotations

import json

import pytest

from backend.query import class_colours as backend_colours
from remoteclip_qgis import class_colours as plugin_colours

NAMES = ["water", "Lake", "lakes", "river", "sea", "forest", "grass", "field", "building", "residential",
         "dense residential", "sparse residential", "urban", "road", "highway", "sand", "desert", "bare soil",
         "Bare-soil", "beaches", "parking lot", "golf course", "baseball field", "storage tanks", "xylophone", "",
         "river or lake", "industrial area", "Wasser", "forêt", "class 7", "class 8", "snow"]


def test_both_sides_read_the_same_table() -> None:
    assert plugin_colours.palette_path() is not None and backend_colours.palette_path() is not None
    assert plugin_colours.palette_path().read_bytes() == backend_colours.palette_path().read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_plugin_and_backend_agree(name: str) -> None:
    assert plugin_colours.class_colour(name) == backend_colours.class_colour(name)


def test_families_and_fallbacks() -> None:
    colour = plugin_colours.class_colour
    table = json.loads(plugin_colours.palette_path().read_text())["families"]
    for family in table.values():
        for name, hex_colour in family.items():
            assert colour(name) == hex_colour and colour(name.upper()) == hex_colour
    assert colour("water") == "#1f78b4" and colour("lakes") == colour("Lake") == "#2b83ba"
    assert colour("forest") == "#1b7837" and colour("road") == "#808080" and colour("sand") == "#e6c98f"

    def blue(c: str) -> bool:
        r, g, b = (int(c[i:i + 2], 16) for i in (1, 3, 5))
        return b > r + 40 and b > g

    assert all(blue(colour(n)) for n in ("water", "lake", "river", "sea", "ocean", "pond"))
    # a listed word in a longer name: its family's colour, lighter or darker, so the two stay apart
    assert colour("dense residential") != colour("residential") != colour("sparse residential")
    assert colour("river or lake") != colour("lake") and blue(colour("river or lake"))
    # unknown names: a fixed colour from the name, different for different names
    unknown = {colour(f"class {i}") for i in range(20)}
    assert len(unknown) >= 18 and colour("xylophone") == colour("Xylophone") == colour("xylophone")
