"""Desktop end-to-end: ``make screenshot`` runs real QGIS under Xvfb with the packaged plugin in a fresh
profile and no backend environment. A search for "lake" through the plugin's toolbar makes the plugin
offer to create its backend's venv (answered Yes); the plugin creates it (pinned requirements, the
PyTorch build for this machine), starts the bundled backend in it, embeds the NAIP sample with the
shipped small model and adds the result layers; then a screenshot is saved. Then a classification through the
dock (classes typed into its list, *Classify* pressed): its class raster in name-keyed colours, the dock and the
class legend in view, in a second screenshot checked against the bare map under it. Last the change between the
2019 and 2020 NAIP scenes from the dock's change section: its changed tiles and change heatmap, a third shot.

Slow: creating the environment installs about 6 GB of wheels (2-4 minutes here), then half a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG = ROOT / "build" / "screenshot.png"
BARE_PNG = ROOT / "build" / "screenshot-bare.png"
CLASSES_PNG = ROOT / "build" / "screenshot-classes.png"
CHANGE_PNG = ROOT / "build" / "screenshot-change.png"
REPORT = ROOT / "build" / "screenshot.json"
CLASSES = ["farmland", "lake", "grassland", "road"]
TIMEOUT_S = 1200

@pytest.fixture(scope="module")
def run():
    # `make setup` installs these; their absence is a broken set-up, not a reason to skip
    for tool in ("qgis", "xvfb-run", "make"):
        assert shutil.which(tool), f"{tool} is missing: run make setup"
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # the desktop run uses real Xvfb, not Qt's offscreen platform
    env.pop("MAKEFLAGS", None)
    proc = subprocess.run(["make", "-s", "screenshot"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    return proc


def test_make_screenshot_exits_cleanly(run):
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]


def test_report_lists_result_layers(run):
    report = json.loads(REPORT.read_text())
    assert report["ok"] and report["error"] is None, report
    kinds = {layer["kind"]: layer for layer in report["layers"]}
    assert {"raster", "hits", "heatmap"} <= set(kinds), report["layers"]
    assert kinds["hits"]["features"] > 0
    # the similarity is a raster of stride cells, styled as a pseudocolour ramp (not tile polygons)
    assert kinds["heatmap"]["pixels"] > 0 and kinds["heatmap"]["source"].endswith(".tif")
    assert kinds["heatmap"]["renderer"] == "singlebandpseudocolor", kinds["heatmap"]
    assert report["model"] == os.environ.get("REMOTECLIP_MODEL", "remoteclip-qgis-small")
    # the packaged plugin runs its bundled backend from its own folder in the fresh profile
    assert "/build/desktop/" in report["plugin_dir"]
    assert report["backend_root"] == report["plugin_dir"]


def test_the_plugin_created_its_backend_environment(run):
    report = json.loads(REPORT.read_text())
    if os.environ.get("RC_SHOT_PYTHON"):
        pytest.fail("RC_SHOT_PYTHON is set: the run skipped creating the backend environment")
    env = report["env"]
    assert env["offered"] and "Create it now?" in env["offered"], env
    assert env["ok"] and env["error"] is None and env["torch"].startswith("2."), env
    profile = "/build/desktop/profiles-root/profiles/default/"
    assert profile in env["dir"] and env["dir"].endswith("remoteclip-qgis/backend-env")
    # the search ran in the new environment, not the project's .venv
    assert report["interpreter"] == env["dir"] + "/bin/python"
    assert not report["interpreter_before"].endswith("/.venv/bin/python")
    marker = json.loads((Path(env["dir"]) / ".remoteclip-env-ready").read_text())
    assert marker["requirements"].endswith("remoteclip_qgis/requirements.txt")


def test_screenshot_shows_the_map(run):
    import numpy as np
    from PIL import Image as image_mod
    report = json.loads(REPORT.read_text())
    with image_mod.open(PNG) as img:
        rgb = np.asarray(img.convert("RGB"))
    height, width = rgb.shape[:2]
    assert (width, height) == tuple(report["window"])
    assert 1500 <= width <= 1600 and 900 <= height <= 1000, (width, height)  # the Xvfb screen, 1600x1000
    colours = np.unique(rgb.reshape(-1, 3), axis=0)
    assert len(colours) > 1000, len(colours)
    assert rgb.std() > 20, rgb.std()
    x, y, w, h = report["canvas"]
    assert w > 400 and h > 400, report["canvas"]
    canvas = rgb[y:y + h, x:x + w]
    centre = canvas[h // 4: 3 * h // 4, w // 4: 3 * w // 4]   # the raster (the map is zoomed to it)
    assert len(np.unique(centre.reshape(-1, 3), axis=0)) > 500
    assert centre.std(axis=(0, 1)).max() > 10
    # hit boxes are drawn in cyan (#00e5ff): some of those pixels are on the map
    cyan = (canvas[..., 0] < 60) & (canvas[..., 1] > 200) & (canvas[..., 2] > 220)
    assert cyan.sum() > 200, int(cyan.sum())


def class_cells_drawn(report: dict, tolerance: int = 12) -> tuple[int, int]:
    """(cells checked, cells whose screen colour is their class colour blended over the bare map at the layer's
    opacity): every class-raster cell whose centre lies on the canvas, at least 3 px inside the cell."""
    import numpy as np
    import rasterio
    from PIL import Image as image_mod

    classes = report["classes"]
    colours = {int(value): tuple(int(name[i:i + 2], 16) for i in (1, 3, 5)) for _, name, value in classes["legend"]}
    shot, bare_shot = report["shots"]["screenshot-classes.png"], report["shots"]["screenshot-bare.png"]
    assert shot["canvas"] == bare_shot["canvas"] and shot["extent"] == bare_shot["extent"]
    with image_mod.open(CLASSES_PNG) as img:
        shown = np.asarray(img.convert("RGB")).astype(float)
    with image_mod.open(BARE_PNG) as img:
        bare = np.asarray(img.convert("RGB")).astype(float)
    x0, y0, w, h = shot["canvas"]
    xmin, ymin, xmax, ymax = shot["extent"]
    alpha = classes["opacity"]
    checked = matched = 0
    with rasterio.open(classes["source"]) as src:
        cells = src.read(1)
        cell_px = abs(src.transform.a) / (xmax - xmin) * w
        for row in range(src.height):
            for col in range(src.width):
                value = int(cells[row, col])
                if value not in colours:
                    continue
                x, y = src.xy(row, col)
                px, py = x0 + (x - xmin) / (xmax - xmin) * w, y0 + (ymax - y) / (ymax - ymin) * h
                if not (x0 + 3 <= px < x0 + w - 3 and y0 + 3 <= py < y0 + h - 3) or cell_px < 6:
                    continue
                r, c = int(py), int(px)
                expected = alpha * np.array(colours[value]) + (1 - alpha) * bare[r, c]
                checked += 1
                matched += bool(np.all(np.abs(shown[r, c] - expected) <= tolerance))
    return checked, matched


def test_dock_classification_in_name_colours(run):
    from remoteclip_qgis.class_colours import class_colour

    report = json.loads(REPORT.read_text())
    classes = report["classes"]
    assert classes is not None, report
    assert classes["renderer"] == "paletted" and classes["source"].endswith(".tif")
    # every asked class in the legend, in order, each in its name's colour (lake blue, grassland green)
    assert [label for label, _, _ in classes["legend"]] == CLASSES
    assert [colour for _, colour, _ in classes["legend"]] == [class_colour(name) for name in CLASSES]
    assert classes["legend"][1][1] == "#2b83ba"
    assert classes["group"] == "RemoteCLIP: classes: " + ", ".join(CLASSES)
    assert classes["group_expanded"] and classes["layer_expanded"]
    # as the layer panel shows them: both result groups unfolded, their legends in view
    assert classes["group_shown_expanded"] and report["search_group_shown_expanded"]
    assert classes["recent_results"] == ["classes: " + ", ".join(CLASSES), report["query"]]  # the dock's list


def test_classes_screenshot_shows_the_dock_and_the_class_colours(run):
    import numpy as np
    from PIL import Image as image_mod

    report = json.loads(REPORT.read_text())
    shot = report["shots"]["screenshot-classes.png"]
    with image_mod.open(CLASSES_PNG) as img:
        rgb = np.asarray(img.convert("RGB"))
    height, width = rgb.shape[:2]
    assert [width, height] == shot["window"] and rgb.std() > 20
    # the dock: in view on the right, beside the map, with text and widgets in it (not a blank panel)
    x, y, w, h = shot["dock"]
    assert w > 200 and h > 400 and x + w >= width - 10 and x >= sum(shot["canvas"][::2]) - 10, shot
    dock = rgb[y:y + h, x:x + w]
    assert len(np.unique(dock.reshape(-1, 3), axis=0)) > 50
    assert (dock.max(axis=2) < 90).mean() > 0.005  # dark text on the light panel
    # the class map is drawn: each cell in its class colour over the bare map, at the layer's opacity
    checked, matched = class_cells_drawn(report)
    assert checked > 200 and matched >= 0.9 * checked, (checked, matched)


def test_change_between_the_two_dates_from_the_dock(run):
    """Both dates embedded, the 5 most changed tiles as boxes and the change as a pseudocolour heatmap whose
    legend is in change units; the third screenshot differs from the bare map where the heatmap is drawn."""
    import numpy as np
    from PIL import Image as image_mod

    change = json.loads(REPORT.read_text())["change"]
    assert change is not None and change["hits"] == 5, change
    assert change["heatmap_renderer"] == "singlebandpseudocolor"
    assert any("change" in label for label in change["legend"]), change["legend"]
    report = json.loads(REPORT.read_text())
    shot, bare_shot = report["shots"]["screenshot-change.png"], report["shots"]["screenshot-bare.png"]
    assert shot["extent"] == bare_shot["extent"]
    with image_mod.open(CHANGE_PNG) as img:
        shown = np.asarray(img.convert("RGB")).astype(float)
    with image_mod.open(BARE_PNG) as img:
        bare = np.asarray(img.convert("RGB")).astype(float)
    x, y, w, h = shot["canvas"]
    differs = np.abs(shown[y:y + h, x:x + w] - bare[y:y + h, x:x + w]).max(axis=2) > 30
    assert differs.mean() > 0.05, float(differs.mean())  # the heatmap's upper classes and the boxes are drawn
