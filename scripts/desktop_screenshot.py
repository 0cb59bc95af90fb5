"""Desktop end-to-end check: real QGIS (Debian's ``qgis``) under Xvfb, the packaged plugin in a fresh
profile, a text search for "lake" on the NAIP sample through the plugin's toolbar, and a screenshot.

Two roles in one file:

* run with the project's Python (``make screenshot``): lay out a fresh profile under ``build/``, unzip
  ``remoteclip_qgis-offline.zip`` (``$RC_SHOT_ZIP``) into it, enable the plugin with no backend Python set
  (``$RC_SHOT_PYTHON`` names one, to skip creating the environment while developing), copy the two samples
  to a temp folder and start
  ``xvfb-run qgis --code <this file>``; exits with QGIS's status.
* run by QGIS (``--code``, ``$RC_SHOT_IN_QGIS`` set): load the sample, save the bare map
  (``build/screenshot-bare.png``: what the class colours are blended over), search through the toolbar; the
  plugin finds no backend environment and offers to create it: answer Yes in its dialog, as a user
  would, and wait while the plugin creates the venv in the profile (pinned requirements, PyTorch build
  for this machine) and then runs the search. Wait for the hits and the similarity heatmap, zoom, wait for
  the canvas, save ``build/screenshot.png``. Then classify through the dock (the classes typed into its list,
  its *Classify* button), wait for the class raster, hide the search's layers and save
  ``build/screenshot-classes.png`` with the dock and the class legend in view. Then the change between the
  two dates: load the 2020 NAIP scene, choose both in the dock's *Change between two dates* section, press
  *Find changes* (both dates are embedded), wait for the changed tiles and the change heatmap and save
  ``build/screenshot-change.png``; write ``build/screenshot.json``, remove the layers and quit (non-zero on any
  failure, an overall timer so it never hangs).

QGIS ``exec``s ``--code`` files without ``__file__``: the QGIS side reads everything from the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

PLUGIN = "remoteclip_qgis"
QUERY = os.environ.get("RC_SHOT_QUERY", "lake")
CLASSES = ["farmland", "lake", "grassland", "road"]  # the README's classify example
SCREEN = "1600x1000x24"
IN_QGIS_TIMEOUT_S = 900       # backend environment (about 6 GB of wheels) + search + render inside QGIS
OUTER_TIMEOUT_S = 1000        # the whole QGIS process (start-up and exit included)


# ---------------------------------------------------------------------------------------- launcher


def launch() -> int:
    root = Path(__file__).resolve().parents[1]
    build = root / "build"
    png, report = build / "screenshot.png", build / "screenshot.json"
    for path in (png, report, build / "screenshot-bare.png", build / "screenshot-classes.png",
                 build / "screenshot-change.png"):
        path.unlink(missing_ok=True)
    zip_path = root / os.environ.get("RC_SHOT_ZIP", f"{PLUGIN}-offline.zip")  # the self-contained ZIP
    if not zip_path.exists():
        print(f"desktop_screenshot: {zip_path} missing: run 'make package-offline' first", file=sys.stderr)
        return 2
    interpreter = os.environ.get("RC_SHOT_PYTHON", "")  # empty: the plugin creates the backend's environment

    work = build / "desktop"
    shutil.rmtree(work, ignore_errors=True)
    profiles = work / "profiles-root"
    profile = profiles / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    (profile / "QGIS").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    results = work / "results"
    results.mkdir()
    ini = (f"[PythonPlugins]\n{PLUGIN}=true\n\n"
           f"[remoteclip]\ninterpreter={interpreter}\nmode=local\noutput_folder={results}\ntorch_index=auto\n\n"
           "[qgis]\ncheckVersion=false\nshowTips=false\n")
    (profile / "QGIS" / "QGIS3.ini").write_text(ini)

    sample_dir = Path(tempfile.mkdtemp(prefix="remoteclip-desktop-"))
    try:
        sample = sample_dir / "naip_m_4709963_se_14_1_20190904.tif"
        shutil.copy(root / "resources" / "sample" / sample.name, sample)
        after = sample_dir / "naip_m_4709963_se_14_1_20200831.tif"  # the same place a year later
        shutil.copy(root / "resources" / "sample" / after.name, after)
        env = dict(os.environ)
        env.pop("QT_QPA_PLATFORM", None)      # real Xvfb, never Qt's offscreen platform
        env.pop("PYTHONPATH", None)
        env.update({
            "RC_SHOT_IN_QGIS": "1", "RC_SHOT_SAMPLE": str(sample), "RC_SHOT_AFTER": str(after),
            "RC_SHOT_PNG": str(png),
            "RC_SHOT_JSON": str(report), "RC_SHOT_QUERY": QUERY, "RC_SHOT_TIMEOUT": str(IN_QGIS_TIMEOUT_S),
            "GDAL_PAM_ENABLED": "NO", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "REMOTECLIP_CACHE": str(work / "cache"),   # a fresh embedding store: the search embeds for real
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}",
               "qgis", "--profiles-path", str(profiles), "--nologo", "--noversioncheck",
               "--code", str(Path(__file__).resolve())]
        print("desktop_screenshot:", " ".join(cmd), flush=True)
        start = time.monotonic()
        log = work / "qgis.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=OUTER_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                rc = 124
        print(f"desktop_screenshot: QGIS exited with {rc} after {time.monotonic() - start:.0f} s (log: {log})")
        if report.exists():
            print(report.read_text())
        else:
            print("desktop_screenshot: no report written; QGIS log tail:\n" + log.read_text(errors="replace")[-3000:])
            rc = rc or 3
        return rc
    finally:
        shutil.rmtree(sample_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------- inside QGIS


def run_in_qgis() -> None:
    from qgis.core import QgsApplication, QgsMapLayerType, QgsProject, QgsRasterLayer, QgsRectangle
    from qgis.PyQt.QtCore import QPoint, QTimer
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox
    from qgis.utils import iface, plugins

    png, report = Path(os.environ["RC_SHOT_PNG"]), Path(os.environ["RC_SHOT_JSON"])
    bare_png, classes_png = png.with_name("screenshot-bare.png"), png.with_name("screenshot-classes.png")
    change_png = png.with_name("screenshot-change.png")
    timeout_s = float(os.environ.get("RC_SHOT_TIMEOUT", IN_QGIS_TIMEOUT_S))
    info: dict = {"query": QUERY, "ok": False, "error": None, "layers": [], "env": {"offered": None},
                  "shots": {}, "classes": None, "change": None}
    state: dict = {"done": False, "t0": time.monotonic(), "task": None, "polls": 0, "rendered": False,
                   "env_task": None, "env_t0": None, "classify_task": None, "class_polls": 0,
                   "change_task": None, "change_polls": 0}
    timers: list = []

    def log(msg: str) -> None:
        print(f"[desktop_screenshot {time.monotonic() - state['t0']:6.1f}s] {msg}", flush=True)

    def finish(code: int, error: str | None = None) -> None:
        if state["done"]:
            return
        state["done"] = True
        for t in timers:
            t.stop()
        info["error"] = error
        info["ok"] = code == 0
        info["seconds"] = round(time.monotonic() - state["t0"], 1)
        log(f"finish {code} {error or ''}")
        try:
            report.write_text(json.dumps(info, indent=2))
        except OSError as exc:
            log(f"cannot write {report}: {exc}")
        try:
            project = QgsProject.instance()
            project.removeAllMapLayers()
            project.layerTreeRoot().removeAllChildren()
            project.setDirty(False)
            import qgis.utils

            qgis.utils.unloadPlugin(PLUGIN)  # stops the backend process
        except Exception:  # noqa: BLE001 - exit anyway
            log(traceback.format_exc())
        QTimer.singleShot(200, lambda: QgsApplication.exit(code))

    def fail(error: str) -> None:
        finish(1, error)

    def result_layers() -> dict:
        """The search's result layers: the hits (boxes in the GeoPackage) and the similarity heatmap (a GeoTIFF
        beside it, shown in place of the tile polygons)."""
        found = {}
        for layer in QgsProject.instance().mapLayers().values():
            if layer.type() == QgsMapLayerType.VectorLayer and layer.source().endswith("layername=hits"):
                found["hits"] = layer
            elif (layer.type() == QgsMapLayerType.RasterLayer and layer is not state["raster"]
                  and layer.source().endswith(".tif")):
                found["heatmap"] = layer
        return found

    def shoot(path: Path, then) -> None:
        """Save the main window as ``path`` once the canvas stopped drawing, note where the canvas and the dock
        are in it, then call ``then()``."""
        canvas = iface.mapCanvas()
        if canvas.isDrawing():
            QTimer.singleShot(250, lambda: shoot(path, then))
            return
        if canvas.extent() != state["shown_extent"]:  # QGIS zoomed to the first layer meanwhile: zoom back
            show_and_shoot(path, then)
            return
        QgsApplication.processEvents()
        image = iface.mainWindow().grab()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            fail(f"cannot save {path}")
            return
        top_left = canvas.mapTo(iface.mainWindow(), QPoint(0, 0))
        extent = canvas.extent()
        shot = {"window": [image.width(), image.height()],
                "canvas": [top_left.x(), top_left.y(), canvas.width(), canvas.height()],
                "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]}
        dock = plugins.get(PLUGIN).dock
        if dock is not None and dock.isVisible():
            corner = dock.mapTo(iface.mainWindow(), QPoint(0, 0))
            shot["dock"] = [corner.x(), corner.y(), dock.width(), dock.height()]
        info["shots"][path.name] = shot
        if path == png:  # the first report's keys, kept
            info["window"], info["canvas"], info["extent"] = shot["window"], shot["canvas"], extent.toString(2)
        log(f"saved {path} ({image.width()}x{image.height()})")
        then()

    def show_and_shoot(path: Path, then) -> None:
        """The map at the raster's extent (the same in every shot), messages cleared, then :func:`shoot`."""
        iface.messageBar().clearWidgets()   # "Task complete" would cover the top of the map
        canvas = iface.mapCanvas()
        canvas.setExtent(state["extent"])
        state["shown_extent"] = QgsRectangle(canvas.extent())
        canvas.refreshAllLayers()
        QTimer.singleShot(3000, lambda: shoot(path, then))   # first wait a little, then until the canvas is done

    def render() -> None:
        found = result_layers()
        raster = state["raster"]
        for layer in found.values():  # make sure nothing is collapsed / hidden
            node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
            if node is not None:
                node.setItemVisibilityChecked(True)
        info["layers"] = [{"name": lyr.name(), "kind": kind, "source": lyr.source(),
                           "features": lyr.featureCount() if kind == "hits" else None,
                           "pixels": lyr.width() * lyr.height() if kind == "heatmap" else None,
                           "renderer": lyr.renderer().type() if lyr.renderer() is not None else None}
                          for kind, lyr in found.items()]
        info["layers"].insert(0, {"name": raster.name(), "kind": "raster", "features": None,
                                  "source": raster.source()})
        state["search_layers"] = list(found.values())
        info["search_group_shown_expanded"] = shown_expanded(found["hits"])
        show_and_shoot(png, start_classify)

    def shown_expanded(layer) -> bool:
        """Whether desktop QGIS's layer panel shows the group of ``layer`` unfolded (the view's row, not the
        node's flag)."""
        view = iface.layerTreeView()
        group = QgsProject.instance().layerTreeRoot().findLayer(layer.id()).parent()
        return bool(view.isExpanded(view.node2index(group)))

    def start_classify() -> None:
        """The dock, as a user would: type the classes into its list and press Classify."""
        try:
            dock = plugins.get(PLUGIN).dock
            dock.show()
            dock.raise_()
            dock.classes_edit.setPlainText("\n".join(CLASSES))
            before = list(dock.tasks)
            dock.classify_button.click()
            new = [t for t in dock.tasks if t not in before]
            if not new:
                fail("pressing Classify in the dock started no task")
                return
            state["classify_task"] = new[0]
            log(f"classify task started: {new[0].description()}")
            class_timer.start(500)
        except Exception:  # noqa: BLE001
            fail(traceback.format_exc().strip().splitlines()[-1])

    def class_poll() -> None:
        from remoteclip_qgis.jobs import Failed

        if state["done"]:
            return
        state["class_polls"] += 1
        task = state["classify_task"]
        if isinstance(getattr(task, "outcome", None), Failed):
            fail(f"classify task failed: {task.outcome.reason}")
            return
        layers = [lyr for lyr in QgsProject.instance().mapLayers().values()
                  if lyr.type() == QgsMapLayerType.RasterLayer and lyr.renderer() is not None
                  and lyr.renderer().type() == "paletted"]
        if not layers:
            if state["class_polls"] % 20 == 0:
                try:
                    log(f"waiting for the class raster; task progress {task.progress()}")
                except RuntimeError:  # deleted by the task manager
                    log("waiting for the class raster")
            return
        class_timer.stop()
        layer = layers[0]
        root = QgsProject.instance().layerTreeRoot()
        for other in state.get("search_layers", []):  # the class map alone over the image
            node = root.findLayer(other.id())
            if node is not None:
                node.setItemVisibilityChecked(False)
        group = root.findLayer(layer.id()).parent()
        dock = plugins.get(PLUGIN).dock
        info["classes"] = {
            "asked": CLASSES, "name": layer.name(), "source": layer.source(), "renderer": layer.renderer().type(),
            "opacity": layer.opacity(), "group": group.name(), "group_expanded": group.isExpanded(),
            "layer_expanded": root.findLayer(layer.id()).isExpanded(), "group_shown_expanded": shown_expanded(layer),
            "legend": [[c.label, c.color.name(), c.value] for c in layer.renderer().classes()],
            "recent_results": [dock.results_tree.topLevelItem(i).text(0)
                               for i in range(dock.results_tree.topLevelItemCount())],
        }
        log(f"class raster in the project: {layer.name()}")
        state["class_layers"] = [lyr for lyr in QgsProject.instance().mapLayers().values()
                                 if lyr is not state["raster"]]
        QTimer.singleShot(500, lambda: show_and_shoot(classes_png, start_change))

    def start_change() -> None:
        """The dock's change section, as a user would: the 2019 and 2020 layers, then *Find changes*."""
        try:
            root = QgsProject.instance().layerTreeRoot()
            for other in state.get("class_layers", []):  # the change map alone over the image
                node = root.findLayer(other.id())
                if node is not None:
                    node.setItemVisibilityChecked(False)
            after = QgsRasterLayer(os.environ["RC_SHOT_AFTER"], "NAIP 2020")
            if not after.isValid():
                fail("the 2020 NAIP scene does not load")
                return
            QgsProject.instance().addMapLayer(after)
            root.findLayer(after.id()).setItemVisibilityChecked(False)
            state["after"] = after
            box = plugins.get(PLUGIN).dock.change_box
            box.before_combo.setLayer(state["raster"])
            box.after_combo.setLayer(after)
            box.k_spin.setValue(5)
            before = set(plugins.get(PLUGIN).tasks)
            box.run_button.click()
            new = set(plugins.get(PLUGIN).tasks) - before
            if not new:
                fail("pressing Find changes in the dock started no task")
                return
            state["change_task"] = next(iter(new))
            log(f"change task started: {state['change_task'].description()}")
            change_timer.start(500)
        except Exception:  # noqa: BLE001
            fail(traceback.format_exc().strip().splitlines()[-1])

    def change_poll() -> None:
        from remoteclip_qgis.jobs import Failed

        if state["done"]:
            return
        state["change_polls"] += 1
        task = state["change_task"]
        if isinstance(getattr(task, "outcome", None), Failed):
            fail(f"change task failed: {task.outcome.reason}")
            return
        known = {id(lyr) for lyr in [state["raster"], state["after"], *state.get("class_layers", [])]}
        new = [lyr for lyr in QgsProject.instance().mapLayers().values() if id(lyr) not in known]
        hits = [lyr for lyr in new if lyr.type() == QgsMapLayerType.VectorLayer and "changed" in lyr.source()]
        heat = [lyr for lyr in new if lyr.type() == QgsMapLayerType.RasterLayer and lyr.renderer() is not None
                and lyr.renderer().type() == "singlebandpseudocolor"]
        if not (hits and heat):
            if state["change_polls"] % 20 == 0:
                log(f"waiting for the change layers ({len(new)} new so far)")
            return
        change_timer.stop()
        group = QgsProject.instance().layerTreeRoot().findLayer(hits[0].id()).parent()
        info["change"] = {"hits": hits[0].featureCount(), "hits_name": hits[0].name(), "heatmap": heat[0].name(),
                          "heatmap_renderer": heat[0].renderer().type(), "group": group.name(),
                          "legend": [label for label, _colour in heat[0].renderer().legendSymbologyItems()]}
        log(f"change layers in the project: {hits[0].name()}, {heat[0].name()}")
        QTimer.singleShot(500, lambda: show_and_shoot(change_png, lambda: finish(0)))

    def answer_dialogs() -> None:
        """The plugin's questions (create the backend environment? start a long embedding?): read them and press
        Yes, as a user would; the environment offer is kept in the report, every question in ``questions``."""
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.button(QMessageBox.Yes) is not None:
            info.setdefault("questions", []).append(box.text())
            if "Create it now?" in box.text():
                info["env"]["offered"] = box.text()
            log(f"dialog: {box.windowTitle()!r}; pressing Yes")
            box.button(QMessageBox.Yes).click()

    def follow_env(plugin) -> bool:
        """Track the plugin's environment task; False after a failure (reported)."""
        env_task = plugin.env_task
        if env_task is not None and state["env_task"] is None:
            state["env_task"], state["env_t0"] = env_task, time.monotonic()
            info["env"]["dir"] = str(env_task.plan.env_dir)
            info["env"]["plan"] = env_task.plan.summary()
            log(f"creating the backend environment: {env_task.plan.summary()}")
        tracked = state["env_task"]
        if tracked is not None and "seconds" not in info["env"] and plugin.env_task is None:
            info["env"].update(seconds=round(time.monotonic() - state["env_t0"], 1), ok=tracked.ok,
                               torch=tracked.torch_version, error=tracked.error, notes=tracked.plan.notes,
                               log=str(tracked.log_file))
            log(f"backend environment: ok={tracked.ok} torch={tracked.torch_version} after "
                f"{info['env']['seconds']} s {tracked.error or ''}")
            if not tracked.ok:
                fail(f"creating the backend environment failed: {tracked.error or 'cancelled'}")
                return False
        return True

    def _env_missing(task) -> bool:
        from remoteclip_qgis.jobs import Failed

        return isinstance(task.outcome, Failed) and task.outcome.env_missing

    def poll() -> None:
        from remoteclip_qgis.jobs import Done, Failed

        if state["done"]:
            return
        state["polls"] += 1
        plugin = plugins.get(PLUGIN)
        if not follow_env(plugin):
            return
        if state["task"] is not None and _env_missing(state["task"]) and plugin.tasks:
            state["task"] = next(iter(plugin.tasks))  # the search, run again once the environment is ready
            log("search started again with the new backend environment")
        task = state["task"]
        if task is not None and getattr(task, "follow_up", None) is not None:
            # the estimate was past the setting and the plugin asked first (answered Yes): its confirmed copy runs
            state["task"] = task = task.follow_up
            log("search continues in the confirmed task")
        found = result_layers()
        if "hits" in found and "heatmap" in found:
            poll_timer.stop()
            if task is not None:
                result = task.outcome.answer if isinstance(task.outcome, Done) else {}
                info["model"] = result.get("model")
                info["task_result_keys"] = sorted(result)
            from remoteclip_qgis.backend_process import get_manager

            info["interpreter"] = get_manager().settings.resolved_interpreter()
            log(f"result layers in the project: {[lyr.name() for lyr in found.values()]}")
            QTimer.singleShot(500, render)
            return
        if task is not None and isinstance(task.outcome, Failed) and not task.outcome.env_missing:
            fail(f"search task failed: {task.outcome.reason}")
            return
        if state["polls"] % 20 == 0:
            busy = state["env_task"] if plugin.env_task is not None else task
            try:
                progress = busy.progress() if busy is not None else "?"
            except RuntimeError:  # deleted by the task manager
                progress = "?"
            log(f"waiting for the result layers; {'environment' if busy is state['env_task'] else 'task'} "
                f"progress {progress}")

    def start() -> None:
        try:
            plugin = plugins.get(PLUGIN)
            if plugin is None:
                fail(f"plugin {PLUGIN} not loaded; loaded: {sorted(plugins)}")
                return
            from remoteclip_qgis.backend_process import get_manager
            from remoteclip_qgis.settings import PLUGIN_DIR, backend_root

            manager = get_manager()
            info["plugin_dir"] = str(PLUGIN_DIR)
            info["backend_root"] = str(backend_root()) if backend_root() else None
            info["interpreter_before"] = manager.settings.resolved_interpreter()
            sample = os.environ["RC_SHOT_SAMPLE"]
            raster = QgsRasterLayer(sample, "NAIP sample")
            if not raster.isValid():
                fail(f"invalid raster {sample}")
                return
            QgsProject.instance().addMapLayer(raster)
            iface.setActiveLayer(raster)
            state["raster"] = raster
            extent = QgsRectangle(raster.extent())
            extent.scale(1.05)
            state["extent"] = extent
            if plugin.dock is not None:  # in view from the first shot on, so every shot has the same canvas
                plugin.dock.show()
            show_and_shoot(bare_png, start_search)
        except Exception:  # noqa: BLE001
            fail(traceback.format_exc().strip().splitlines()[-1])

    def start_search() -> None:
        try:
            plugin = plugins.get(PLUGIN)
            # The plugin's toolbar: type the phrase into its search box and press Enter.
            edit = plugin.search_edit
            edit.setText(QUERY)
            before = set(plugin.tasks)
            edit.returnPressed.emit()
            new = set(plugin.tasks) - before
            if not new:
                fail("pressing Enter in the search box started no task")
                return
            state["task"] = next(iter(new))
            log(f"search task started: {state['task'].description()}")
            poll_timer.start(500)
        except Exception:  # noqa: BLE001
            fail(traceback.format_exc().strip().splitlines()[-1])

    poll_timer = QTimer()
    poll_timer.timeout.connect(poll)
    timers.append(poll_timer)
    class_timer = QTimer()
    class_timer.timeout.connect(class_poll)
    timers.append(class_timer)
    change_timer = QTimer()
    change_timer.timeout.connect(change_poll)
    timers.append(change_timer)
    dialog_timer = QTimer()   # fires inside the dialog's own event loop too
    dialog_timer.timeout.connect(answer_dialogs)
    dialog_timer.start(500)
    timers.append(dialog_timer)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(lambda: finish(124, f"timed out after {timeout_s:.0f} s"))
    deadline.start(int(timeout_s * 1000))
    timers.append(deadline)
    # QGIS execs us: keep the timers alive
    globals()["_rc_shot_keep"] = (poll_timer, class_timer, change_timer, dialog_timer, deadline, info, state)
    # No window manager under Xvfb: showMaximized() would leave the default size; fill the screen instead.
    width, height = (int(v) for v in SCREEN.split("x")[:2])
    iface.mainWindow().showNormal()
    iface.mainWindow().setGeometry(0, 0, width, height)
    QTimer.singleShot(1000, start)


if os.environ.get("RC_SHOT_IN_QGIS") == "1":
    try:
        run_in_qgis()
    except Exception:  # noqa: BLE001 - never leave QGIS running
        traceback.print_exc()
        from qgis.core import QgsApplication

        QgsApplication.exit(1)
elif __name__ == "__main__":
    sys.exit(launch())
