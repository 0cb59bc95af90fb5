"""The plugin object QGIS loads: Processing provider, a toolbar with a search box, a locator filter
("rc lake") and a settings action. Searches run as QgsTasks (jobs.RemoteClipTask)."""

from __future__ import annotations

from dataclasses import replace

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsLocatorFilter,
    QgsLocatorResult,
    QgsMapLayerType,
    QgsProject,
)
from qgis.gui import QgsMapToolEmitPoint
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QLineEdit

from .backend_client import BackendError
from .i18n import CONTEXT, install_translator
from .params import split_phrases
from .raster_source import RasterSourceError, raster_input

# The dock's Tiling panel owns these settings (the settings dialog shows only the tile size in pixels).
TILING_FIELDS = ("ground_size_m", "overlap", "bands")


class RemoteClipLocatorFilter(QgsLocatorFilter):
    """Type "rc storage tanks" in the locator bar: search the active raster layer."""

    def __init__(self, plugin, origin=None) -> None:
        super().__init__()
        self.plugin = plugin
        self.origin = origin  # the registered filter; fetchResults runs on a short-lived clone

    def clone(self):
        return RemoteClipLocatorFilter(self.plugin, origin=self.origin or self)

    def name(self) -> str:
        return "remoteclip"

    def displayName(self) -> str:  # noqa: N802
        return QCoreApplication.translate(CONTEXT, "RemoteCLIP search")

    def prefix(self) -> str:
        return "rc"

    def fetchResults(self, string, context, feedback):  # noqa: N802 - runs in a worker thread
        text = (string or "").strip()
        if len(text) < 2 or feedback.isCanceled():
            return
        result = QgsLocatorResult()
        result.filter = self.origin or self
        catalog = self.plugin.search_target()
        if catalog:
            result.displayString = QCoreApplication.translate(CONTEXT, 'Search catalogue {0} for "{1}"').format(
                catalog, text)
        else:
            result.displayString = QCoreApplication.translate(CONTEXT, 'Search the active raster for "{0}"').format(
                text)
        result.userData = text
        self.resultFetched.emit(result)

    def triggerResult(self, result):  # noqa: N802 - main thread
        self.plugin.search(str(result.userData))


def ask_create_env(plan, iface) -> bool:
    """Main thread: say what will be created (Python, place, PyTorch build, size) and ask."""
    from qgis.PyQt.QtWidgets import QMessageBox

    text = QCoreApplication.translate(
        CONTEXT, "RemoteCLIP runs its model in a Python environment of its own (QGIS's Python cannot carry "
                 "PyTorch). Create it now?\n\n{0}\n\nThis downloads the pinned packages once; it runs in the "
                 "background and can be cancelled.").format(plan.summary())
    answer = QMessageBox.question(iface.mainWindow() if iface is not None else None,
                                  QCoreApplication.translate(CONTEXT, "RemoteCLIP: backend environment"), text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


class RemoteClipPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None
        self.toolbar = None
        self.search_edit = None
        self.settings_action = None
        self.similar_action = None
        self.map_tool = None
        self.locator_filter = None
        self.dock = None
        self.dock_action = None
        self.translator = None
        self.tasks: set = set()
        self.menu = ""
        self.env_action = None
        self.env_task = None

    def tr(self, text: str) -> str:
        return QCoreApplication.translate(CONTEXT, text)

    # ------------------------------------------------------------ set-up and tear-down

    def initProcessing(self) -> None:  # noqa: N802 - QGIS API name
        from .processing_provider import RemoteClipProvider

        if self.provider is not None:  # qgis_process calls this alone; initGui calls it too
            return
        self.provider = RemoteClipProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        from .processing_provider import icon_path

        self.translator = install_translator()
        self.initProcessing()
        self.menu = self.tr("&RemoteCLIP")  # under Raster (metadata.txt: category=Raster)

        def icon_of(name: str) -> QIcon:
            path = icon_path(name)
            return QIcon(path) if path else QIcon()

        icon = icon_of("icon.svg")
        self.toolbar = self.iface.addToolBar(self.tr("RemoteCLIP"))
        self.toolbar.setObjectName("RemoteClipToolbar")
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("RemoteClipSearch")
        self.search_edit.setPlaceholderText(self.tr("Search the raster, e.g. lake"))
        self.search_edit.setToolTip(self.tr("RemoteCLIP: type a phrase and press Enter to search the active "
                                            "raster layer (it is embedded once, the first time)"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMaximumWidth(260)
        self.search_edit.returnPressed.connect(self._search_from_edit)
        self.toolbar.addWidget(self.search_edit)
        self.similar_action = QAction(icon_of("icon_similar.svg"), self.tr("Find similar tiles: click on the map"),
                                      self.iface.mainWindow())
        self.similar_action.setCheckable(True)
        self.similar_action.toggled.connect(self._toggle_similar_tool)
        self.toolbar.addAction(self.similar_action)
        self.map_tool = QgsMapToolEmitPoint(self.iface.mapCanvas())
        self.map_tool.setAction(self.similar_action)
        self.map_tool.canvasClicked.connect(self.similar_at)
        self.settings_action = QAction(icon_of("icon_settings.svg"), self.tr("RemoteCLIP settings…"),
                                       self.iface.mainWindow())
        self.settings_action.setObjectName("RemoteClipSettingsAction")
        self.settings_action.triggered.connect(self.show_settings)
        self.toolbar.addAction(self.settings_action)
        self.iface.addPluginToRasterMenu(self.menu, self.settings_action)
        self.env_action = QAction(icon, self.tr("Create the backend environment…"), self.iface.mainWindow())
        self.env_action.setObjectName("RemoteClipEnvAction")
        self.env_action.triggered.connect(lambda: self.offer_backend_env())
        self.iface.addPluginToRasterMenu(self.menu, self.env_action)
        self.locator_filter = RemoteClipLocatorFilter(self)
        self.iface.registerLocatorFilter(self.locator_filter)
        self._init_dock(icon_of("icon_panel.svg"))

    def _init_dock(self, icon) -> None:
        """The panel in the right dock area, shown and hidden by a checkable toolbar / menu action."""
        from qgis.PyQt.QtCore import Qt

        from .dock import RemoteClipDock

        self.dock = RemoteClipDock(self, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock_action = QAction(icon, self.tr("RemoteCLIP panel"), self.iface.mainWindow())
        self.dock_action.setObjectName("RemoteClipDockAction")
        self.dock.setToggleVisibilityAction(self.dock_action)
        self.toolbar.addAction(self.dock_action)
        self.iface.addPluginToRasterMenu(self.menu, self.dock_action)

    def unload(self) -> None:
        for task in list(self.tasks):
            try:
                task.cancel()
            except RuntimeError:  # already deleted by the task manager
                pass
        self.tasks.clear()
        if self.env_task is not None:
            try:
                self.env_task.cancel()  # the venv being made is removed: nothing half-made stays
            except RuntimeError:
                pass
            self.env_task = None
        if self.env_action is not None:
            self.iface.removePluginRasterMenu(self.menu, self.env_action)
            self.env_action.deleteLater()
            self.env_action = None
        if self.dock_action is not None:
            self.iface.removePluginRasterMenu(self.menu, self.dock_action)
            self.dock_action.deleteLater()
            self.dock_action = None
        if self.dock is not None:
            self.dock.fewshot_box.release_tool()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.locator_filter is not None:
            self.iface.deregisterLocatorFilter(self.locator_filter)
            self.locator_filter = None
        if self.map_tool is not None:
            canvas = self.iface.mapCanvas()
            if canvas.mapTool() is self.map_tool:
                canvas.unsetMapTool(self.map_tool)
            self.map_tool.deleteLater()
            self.map_tool = None
        if self.similar_action is not None:
            self.similar_action.deleteLater()
            self.similar_action = None
        if self.settings_action is not None:
            self.iface.removePluginRasterMenu(self.menu, self.settings_action)
            self.settings_action.deleteLater()
            self.settings_action = None
        if self.toolbar is not None:
            try:
                self.iface.mainWindow().removeToolBar(self.toolbar)
            except Exception:  # noqa: BLE001 - a test interface may have no real main window
                pass
            self.toolbar.deleteLater()
            self.toolbar = None
            self.search_edit = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        from .backend_process import shutdown_manager

        shutdown_manager()
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None

    # ------------------------------------------------------------ actions

    def _search_from_edit(self) -> None:
        self.search(self.search_edit.text())

    def active_raster(self):
        layer = self.iface.activeLayer()
        if layer is not None and layer.type() == QgsMapLayerType.RasterLayer:
            return layer
        rasters = [lyr for lyr in QgsProject.instance().mapLayers().values()
                   if lyr.type() == QgsMapLayerType.RasterLayer]
        return rasters[0] if len(rasters) == 1 else None

    def _job(self, endpoint: str, options=None, layer=None, **query):
        """(params, render, layer) for a job on ``layer`` (default: the active raster layer), built by
        params.build_params from ``options`` (a JobOptions; default: none chosen, the settings decide);
        None after a message.

        A layer the backend cannot read from disk (WMS, XYZ, virtual) is rendered as the map shows it:
        ``render`` is that RenderSpec and ``params.raster`` its label until the task has sent it.
        """
        from .backend_process import get_manager
        from .jobs import report_error
        from .params import JobOptions, build_params

        layer = layer or self.active_raster()
        if layer is None:
            report_error(self.tr("Select a raster layer to search first"), self.iface)
            return None
        try:
            path, render = raster_input(layer, self.iface.mapCanvas().mapSettings())
            params = build_params(endpoint, path, options or JobOptions(), get_manager().settings, **query)
        except (RasterSourceError, ValueError) as exc:
            report_error(str(exc), self.iface)
            return None
        return params, render, layer

    def embedding_task(self, params):
        """The running task that embeds (or was confirmed to embed) ``params``' store, or None."""
        from .jobs import store_request

        key = store_request(params)
        for task in self.tasks:
            if task.store_key == key and task.outcome is None and (task.confirmed or task.job_id is not None):
                return task
        return None

    def _start(self, params, on_finished, render=None, layer_name: str = ""):
        """Start ``params``' job as a task (every entry point comes here). While the same store is being
        embedded, the same query again is that running task (a note, no second task), another query on it
        waits for that embedding without asking again."""
        from qgis.core import QgsApplication as App

        from .backend_process import get_manager
        from .jobs import Failed, RemoteClipTask, query_request, report, task_name

        running = self.embedding_task(params)
        name = layer_name or (render.name if render is not None else "")
        if running is not None and running.query_key == query_request(params):
            report(self.tr("{0}: already running (see its progress)").format(running.name), Qgis.MessageLevel.Info,
                   self.iface)
            return running

        def done(task) -> None:
            self.tasks.discard(task)
            if task.follow_up is not None:  # the user agreed to a long embedding: a confirmed copy runs
                self.tasks.add(task.follow_up)
                if self.dock is not None:
                    self.dock.watch(task.follow_up)
            if isinstance(task.outcome, Failed) and task.outcome.env_missing:  # offer to create it, then rerun
                self.offer_backend_env(retry=lambda: self._start(task.params, on_finished, render, layer_name))
            if self.dock is not None:
                self.dock.unwatch(task)
            on_finished(task)

        task = RemoteClipTask(params, manager=get_manager(), iface=self.iface, on_finished=done, render=render,
                              confirmed=running is not None, layer_name=name)
        if running is not None:
            report(self.tr("{0}: waits for the embedding already running ({1})").format(
                task_name(params, task.name_of_layer), running.name), Qgis.MessageLevel.Info, self.iface)
        self.tasks.add(task)
        if self.dock is not None:
            self.dock.watch(task)
        App.taskManager().addTask(task)
        return task

    def search_target(self) -> str:
        """What the toolbar and the locator search: "" for the active layer, else a catalogue's name (the dock's
        "Search in", kept in the settings)."""
        from .backend_process import get_manager

        return getattr(get_manager().settings, "search_in", "") or ""

    def search(self, text: str):
        """Embed the active raster layer (once: the backend caches it), then search it for ``text``;
        hits and the similarity heatmap are added to the project and the map zooms to the best hit. With a
        catalogue chosen in "Search in", search every raster of it instead (search_catalog)."""
        queries = split_phrases(text or "")
        if not queries:
            return None
        if self.search_target():
            return self.search_catalog(self.search_target(), queries)
        job = self._job("search", queries=queries, k=10)
        if job is None:
            return None
        params, render, layer = job
        return self._start(params, self._search_done, render, layer.name())

    # ------------------------------------------------------------ catalogues

    def _watch(self, task, on_finished):
        """Keep ``task`` (a catalogue task) alive, show it in the dock, start it; ``on_finished(task)`` after."""
        from qgis.core import QgsApplication as App

        def done(t) -> None:
            self.tasks.discard(t)
            if self.dock is not None:
                self.dock.unwatch(t)
            on_finished(t)

        task.on_finished = done
        self.tasks.add(task)
        if self.dock is not None:
            self.dock.watch(task)
        App.taskManager().addTask(task)
        return task

    def search_catalog(self, name: str, queries: list[str], k: int = 10):
        """Search every raster of catalogue ``name`` for ``queries``: one layer of hits (EPSG:4326) naming their
        rasters. A raster that changed since it was embedded is offered for embedding again, then searched."""
        from .backend_process import get_manager
        from .catalog import CatalogSearchTask
        from .params import CatalogSearchParams

        settings = get_manager().settings
        params = CatalogSearchParams(catalog=name, queries=list(queries), k=k, precision=settings.precision or "exact")
        return self._watch(CatalogSearchTask(params, manager=get_manager(), iface=self.iface), self._catalog_done)

    def _catalog_done(self, task) -> None:
        from .catalog import Stale

        if isinstance(task.outcome, Stale):
            self.offer_reembed(task)
            return
        self._search_done(task)

    def offer_reembed(self, task):
        """A catalogue search found a raster changed on disk: ask, then embed it again through the catalogue
        (``add_to_catalog``) and search again. Returns the add task, or None."""
        from .catalog import CatalogSearchTask

        raster, name = task.outcome.raster, task.params.catalog
        if not CatalogSearchTask.ask(raster, name, self.iface):
            from .jobs import report_error

            report_error(self.tr("Catalogue {0} cannot be searched until {1} is embedded again").format(name, raster),
                         self.iface)
            return None

        def again(add) -> None:
            from .jobs import Done

            if isinstance(add.outcome, Done):
                task.follow_up = self.search_catalog(name, task.params.queries, task.params.k)

        task.follow_up = self.add_to_catalog(name, backend_rasters=[raster], on_finished=again)
        return task.follow_up

    def add_to_catalog(self, name: str, layer=None, backend_rasters=(), options=None, on_finished=None):
        """Add ``layer``'s raster (or ``backend_rasters``, names the backend knows) to catalogue ``name``, made
        with the settings' (or ``options``') model and tiling when new: a task with progress and cancel."""
        from .backend_process import get_manager
        from .catalog import CatalogAddTask, check_catalog_name
        from .jobs import report_error
        from .params import JobOptions, build_params

        try:
            name = check_catalog_name(name)
        except ValueError as exc:
            report_error(str(exc), self.iface)
            return None
        sources, names = [], []
        if layer is not None:
            job = self._job("embed", options, layer)
            if job is None:
                return None
            params, render, _ = job
            sources, names = [(params.raster, render)], [layer.name()]
        else:
            try:
                params = build_params("embed", "", options or JobOptions(), get_manager().settings)
            except ValueError as exc:
                report_error(str(exc), self.iface)
                return None
        task = CatalogAddTask(name, params, sources=sources, backend_rasters=list(backend_rasters),
                              manager=get_manager(), iface=self.iface, layer_names=names)

        def done(t) -> None:
            if self.dock is not None:
                self.dock.refresh_catalogs()
            if on_finished is not None:
                on_finished(t)

        return self._watch(task, done)

    def _toggle_similar_tool(self, on: bool) -> None:
        canvas = self.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.map_tool)
        elif canvas.mapTool() is self.map_tool:
            canvas.unsetMapTool(self.map_tool)

    def similar_at(self, point, button=None):
        """Tiles most like the one under ``point`` (map canvas CRS) in the active raster layer."""
        job = self._job("similar", k=10)
        if job is None:
            return None
        params, render, layer = job
        canvas_crs = self.iface.mapCanvas().mapSettings().destinationCrs()
        if canvas_crs.isValid() and canvas_crs != layer.crs():
            point = QgsCoordinateTransform(canvas_crs, layer.crs(), QgsProject.instance()).transform(point)
        params.x, params.y = point.x(), point.y()
        return self._start(params, self._similar_done, render, layer.name())

    def _similar_done(self, task) -> None:
        if self.dock is not None:
            self.dock.add_result(task)

    def _search_done(self, task) -> None:
        from .jobs import Done

        if self.dock is not None:
            self.dock.add_result(task)
        layers = task.outcome.layers if isinstance(task.outcome, Done) else []
        hits = next((lyr for lyr in layers if lyr.source().endswith("layername=hits")), None)
        if hits is None and layers:
            hits = layers[0]
        if hits is None:
            return
        from .result_layers import best_hit

        feature = best_hit(hits)
        if feature is None:
            return
        canvas = self.iface.mapCanvas()
        rect = feature.geometry().boundingBox()
        canvas_crs = canvas.mapSettings().destinationCrs()
        if canvas_crs.isValid() and canvas_crs != hits.crs():
            try:
                rect = QgsCoordinateTransform(hits.crs(), canvas_crs, QgsProject.instance()).transformBoundingBox(rect)
            except Exception:  # noqa: BLE001 - no valid transform: stay in layer units
                pass
        rect.scale(3.0)
        canvas.setExtent(rect)
        canvas.refresh()

    # ------------------------------------------------------------ the backend's environment

    ask_create_env = staticmethod(lambda plan, iface: ask_create_env(plan, iface))  # replaced in tests

    def offer_backend_env(self, retry=None):
        """Offer to create the backend's own venv (see backend_env); on yes, a cancellable task creates it
        and ``retry()`` runs afterwards (the job that found it missing). Returns the task, or None."""
        from .backend_env import DEFAULT_MODEL, BackendEnvError, make_plan
        from .backend_process import get_manager
        from .env_task import BackendEnvTask
        from .jobs import report_error
        from .settings import backend_root, managed_env_dir

        if self.env_task is not None:
            self.iface.messageBar().pushMessage("RemoteCLIP", self.tr(
                "The backend environment is being created: see the task manager"), level=Qgis.MessageLevel.Info,
                duration=5)
            return None
        settings = get_manager().settings
        root = backend_root()
        try:
            if root is None:
                raise BackendEnvError(self.tr("No backend package found beside the plugin: reinstall the plugin ZIP"))
            plan = make_plan(managed_env_dir(), root / "requirements.txt", settings.base_python, settings.torch_index,
                             backend_root=root, model=DEFAULT_MODEL)  # the default model too, when it can
        except BackendEnvError as exc:
            report_error(str(exc), self.iface)
            return None
        if not self.ask_create_env(plan, self.iface):
            report_error(self.tr("RemoteCLIP needs its backend environment: create it from the RemoteCLIP menu, or "
                                 "choose a Python with its packages in the settings"), self.iface)
            return None
        task = BackendEnvTask(plan, on_finished=lambda t: self._env_done(t, retry))
        self.env_task = task
        QgsApplication.taskManager().addTask(task)
        self.iface.messageBar().pushMessage("RemoteCLIP", self.tr(
            "Creating the backend environment (progress in the task manager, log: {0})").format(task.log_file),
            level=Qgis.MessageLevel.Info, duration=10)
        return task

    def _env_done(self, task, retry) -> None:
        from .backend_process import BackendManager, get_manager, set_manager
        from .jobs import report_error

        self.env_task = None
        if not task.ok:
            if not task.cancelled:
                report_error(task.error or self.tr("The backend environment could not be created"), self.iface)
            return
        settings = get_manager().settings
        from pathlib import Path

        if settings.interpreter and not Path(settings.interpreter).exists():
            settings.interpreter = ""  # a Python named but missing: the new environment replaces it
            settings.save()
        old = set_manager(BackendManager(settings))  # starts with the new interpreter on its next job
        if old is not None:
            old.stop()
        self.iface.messageBar().pushMessage("RemoteCLIP", self.tr("Backend environment ready: {0}").format(
            task.plan.interpreter), level=Qgis.MessageLevel.Success, duration=10)
        if task.model_note:  # the environment works; the model can be downloaded from the panel
            self.iface.messageBar().pushMessage("RemoteCLIP", task.model_note, level=Qgis.MessageLevel.Warning,
                                                duration=15)
        if retry is not None:
            retry()

    def show_settings(self) -> None:
        from .backend_process import BackendManager, get_manager, set_manager
        from .settings_dialog import SettingsDialog

        current = get_manager().settings
        dialog = SettingsDialog(current, self.iface.mainWindow(), manager=get_manager())
        if not dialog.exec():
            return
        new = replace(dialog.settings(), **{name: getattr(current, name) for name in TILING_FIELDS})
        new.save()
        connection = (new.mode, new.interpreter, new.url, new.token)
        if connection != (current.mode, current.interpreter, current.url, current.token):
            old = set_manager(BackendManager(new))
            if old is not None:
                old.stop()
        else:
            get_manager().settings = new
        if self.dock is not None:  # tiling, precision and (from a backend already up) the models
            self.dock.load_settings()
        if new.mode == "remote":
            try:
                get_manager().client()
            except BackendError as exc:
                from .jobs import report_error

                report_error(str(exc), self.iface)
