"""The RemoteCLIP dock panel, built in code: backend and model status, tiling inputs, zero-shot classes
(with presets), an object to count, the click-for-similar-tiles map tool and the recent results.

Buttons describe the dock's choices as a ``params.JobOptions``, build the job with ``params.build_params``
and start the plugin's QgsTasks; bad input ends in one message bar line, never a traceback. Network calls
(status refresh) run in a worker thread; the model list is the backend's GET /models, filled once a
backend is up (Refresh, or the first job). The model picker is the plugin's only one: its choice is the settings'
model for every entry point, and a model without weights offers a download or a file (``model_weights``).
"""

from __future__ import annotations

from qgis.core import QgsCoordinateTransform, QgsMapLayerType, QgsProject, QgsRectangle
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .background import in_background
from .i18n import tr
from .model_weights import ModelDownloadTask, WeightsRow, model_label
from .params import DEFAULT_OVERLAP, PRECISIONS, JobOptions, parse_bands, split_classes

# Class names are model input: they stay in English whatever the UI language.
PRESETS: dict[str, list[str]] = {
    "RSSCN7": ["grassland", "farmland", "industrial area", "river or lake", "forest", "residential area",
               "parking lot"],
    "DIOR": ["airplane", "airport", "baseball field", "basketball court", "bridge", "chimney", "dam",
             "expressway service area", "expressway toll station", "golf field", "ground track field", "harbor",
             "overpass", "ship", "stadium", "storage tank", "tennis court", "train station", "vehicle", "windmill"],
    "UC Merced": ["agricultural", "airplane", "baseball diamond", "beach", "buildings", "chaparral",
                  "dense residential", "forest", "freeway", "golf course", "harbor", "intersection",
                  "medium residential", "mobile home park", "overpass", "parking lot", "river", "runway",
                  "sparse residential", "storage tanks", "tennis court"],
}
MAX_RECENT = 30
LAYER_IDS_ROLE = Qt.ItemDataRole.UserRole


MIN_TILE_PX = 8  # the backend's smallest default tile (backend/raster/reader.py)


def layer_pixel_metres(layer) -> float | None:
    """The ground size of one of ``layer``'s pixels in metres (the mean of x and y) at its centre, measured
    on the ellipsoid as the backend does (Web Mercator's units are not ground metres); None without a CRS."""
    from qgis.core import QgsDistanceArea, QgsPointXY

    crs = layer.crs()
    if not crs.isValid():
        return None
    area = QgsDistanceArea()
    area.setSourceCrs(crs, QgsProject.instance().transformContext())
    area.setEllipsoid(crs.ellipsoidAcronym() or "EPSG:7030")
    centre = layer.extent().center()
    dx, dy = layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()
    try:
        x_m = area.measureLine(QgsPointXY(centre.x() - dx / 2, centre.y()), QgsPointXY(centre.x() + dx / 2, centre.y()))
        y_m = area.measureLine(QgsPointXY(centre.x(), centre.y() - dy / 2), QgsPointXY(centre.x(), centre.y() + dy / 2))
    except Exception:  # noqa: BLE001 - no measure in this CRS
        return None
    return (x_m + y_m) / 2 if x_m > 0 and y_m > 0 else None


def default_tile_px(ground_m: float, pixel_m: float) -> int:
    """The backend's default tile side in pixels for a model's ``ground_m`` metres at ``pixel_m`` m pixels."""
    return max(MIN_TILE_PX, round(ground_m / pixel_m))


def precision_choices() -> list[tuple[str, str]]:
    """(value, label) of each precision the backend offers (``params.PRECISIONS``), for the dock's choice."""
    labels = {"exact": tr("exact (PyTorch)"), "int8": tr("int8 (PyTorch, faster, nearly the same)"),
              "openvino": tr("OpenVINO (the same results, faster)"),
              "openvino-bf16": tr("OpenVINO bf16 (fastest, cosine 0.999 to exact)")}
    return [(value, labels.get(value, value)) for value in PRECISIONS]


class _Relay(QObject):
    """Carries a worker thread's answer to the main thread (a queued signal)."""

    status = pyqtSignal(object)
    catalogs = pyqtSignal(object)


def fetch_status(manager) -> dict:
    """GET /health and GET /models through the manager's client (starts a local backend when needed).
    Runs in a worker thread; returns a dict, never raises."""
    from .backend_client import BackendError

    try:
        client = manager.client()
        health = client.health()
        models = manager.models(start=True)
        from .catalog import fetch_catalogs

        return {"ok": True, "url": client.connection.url, "version": health.get("version", ""), "models": models,
                "catalogs": fetch_catalogs(manager)}
    except BackendError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one line to the user
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}


def ask_catalog_name(parent) -> str:
    """Main thread: the name of a new catalogue ("" when cancelled)."""
    from qgis.PyQt.QtWidgets import QInputDialog

    text, ok = QInputDialog.getText(parent, tr("RemoteCLIP: new catalogue"),
                                    tr("Name of the new catalogue (letters, digits, '_', '.' or '-'):"))
    return text.strip() if ok else ""


class RemoteClipDock(QgsDockWidget):
    """The plugin's panel; ``plugin`` gives the interface, the active raster and task starting."""

    def __init__(self, plugin, parent=None) -> None:
        super().__init__(tr("RemoteCLIP"), parent)
        self.plugin = plugin
        self.iface = plugin.iface
        self.setObjectName("RemoteClipDock")
        self._relay = _Relay()
        self._relay.status.connect(self._show_status)
        self._refreshing = False
        self.tasks: list = []  # the tasks this dock started (the plugin keeps them alive too)

        body = QWidget()
        outer = QVBoxLayout(body)

        # --- backend and model
        box = QGroupBox(tr("Backend"))
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refresh_button = QPushButton(tr("Refresh"))
        self.refresh_button.setToolTip(tr("Ask the backend for its health and models (starts a local backend "
                                          "when none is running)"))
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.status_label, 1)
        row.addWidget(self.refresh_button)
        form.addRow(row)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip(tr("The model for every RemoteCLIP job (the toolbar's search too)"))
        self.model_combo.currentIndexChanged.connect(self._model_chosen)
        form.addRow(tr("Model"), self.model_combo)
        self.model_infos: dict[str, dict] = {}  # GET /models entries by name
        self.chosen_weights: dict[str, str] = {}  # weights files chosen for models this session
        self._filling = False
        self.download_task = None
        self.weights_row = WeightsRow()
        self.weights_row.download_requested.connect(self.download_model)
        self.weights_row.cancel_requested.connect(self.cancel_download)
        self.weights_row.weights_chosen.connect(self.set_weights)
        form.addRow(self.weights_row)
        self._init_catalog_row(form)
        outer.addWidget(box)

        # --- tiling
        box = QGroupBox(tr("Tiling"))
        form = QFormLayout(box)
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(0, 4096)
        self.tile_spin.setSingleStep(32)
        self.tile_spin.setSuffix(" px")
        self.tile_spin.setSpecialValueText(tr("model's default"))
        self.tile_spin.setToolTip(tr("Tile side in raster pixels. Not set: the model's training ground size where "
                                     "the raster's pixel size is known (remoteclip-qgis-small: 146 m), else its "
                                     "input size"))
        form.addRow(tr("Tile size"), self.tile_spin)
        self.tile_hint = QLabel()  # what the tile size means on the active layer, e.g. "146 m = 125 px"
        self.tile_hint.setWordWrap(True)
        form.addRow("", self.tile_hint)
        self.ground_spin = QDoubleSpinBox()
        self.ground_spin.setRange(0.0, 100000.0)
        self.ground_spin.setDecimals(1)
        self.ground_spin.setSingleStep(10.0)
        self.ground_spin.setSuffix(" m")
        self.ground_spin.setSpecialValueText(tr("not set"))
        self.ground_spin.setToolTip(tr("Tile side on the ground in metres; when set, it replaces the tile size "
                                       "in pixels"))
        form.addRow(tr("Ground size"), self.ground_spin)
        self.overlap_spin = QDoubleSpinBox()
        self.overlap_spin.setRange(0.0, 0.9)
        self.overlap_spin.setSingleStep(0.05)
        self.overlap_spin.setDecimals(2)
        self.overlap_spin.setToolTip(tr("Fraction of a tile shared with its neighbour (the plugin's default: "
                                        "{0})").format(DEFAULT_OVERLAP))
        form.addRow(tr("Overlap"), self.overlap_spin)
        self.bands_edit = QLineEdit()
        self.bands_edit.setPlaceholderText(tr("automatic, e.g. 3,2,1"))
        form.addRow(tr("Bands"), self.bands_edit)
        self.precision_combo = QComboBox()
        for value, label in precision_choices():
            self.precision_combo.addItem(label, value)
        self.precision_combo.setToolTip(tr("How the backend runs the image model on a CPU; each choice keeps its own "
                                           "cached embeddings. OpenVINO gives the same results as exact, several "
                                           "times faster (docs/PERFORMANCE.md)"))
        form.addRow(tr("Precision"), self.precision_combo)
        outer.addWidget(box)
        # one tiling state: what is set here is saved and used by the toolbar, the locator and the map tool too
        self.tile_spin.valueChanged.connect(self._save_tiling)
        self.ground_spin.valueChanged.connect(self._save_tiling)
        self.overlap_spin.valueChanged.connect(self._save_tiling)
        self.bands_edit.textChanged.connect(self._save_tiling)
        self.precision_combo.currentIndexChanged.connect(self._save_tiling)
        self.model_combo.currentIndexChanged.connect(self.update_tile_hint)

        # --- the running job
        row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setToolTip(tr("Cancel the running job (an embedding stops; nothing half-made is kept)"))
        self.cancel_button.clicked.connect(self.cancel_running)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        self.job_label = QLabel()
        self.job_label.setWordWrap(True)
        outer.addWidget(self.job_label)
        outer.addLayout(row)
        self.watched: list = []  # running tasks (any entry point), the newest last: the bar follows it

        # --- zero-shot classes
        box = QGroupBox(tr("Zero-shot classes"))
        lay = QVBoxLayout(box)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem(tr("Presets…"), None)
        for name in PRESETS:
            self.preset_combo.addItem(name, name)
        self.preset_combo.activated.connect(self._preset_chosen)
        lay.addWidget(self.preset_combo)
        self.classes_edit = QPlainTextEdit()
        self.classes_edit.setPlaceholderText(tr("One class per line, e.g.\nfarmland\nforest\nriver or lake"))
        lay.addWidget(self.classes_edit)
        self.transductive_check = QCheckBox(tr("Transductive (all tiles together)"))
        self.transductive_check.setToolTip(tr("Classify all tiles of the raster together (TransCLIP) rather than "
                                              "each tile alone; with fewer tiles than classes plain zero-shot is "
                                              "used"))
        lay.addWidget(self.transductive_check)
        self.classify_button = QPushButton(tr("Classify"))
        self.classify_button.clicked.connect(self.classify)
        lay.addWidget(self.classify_button)
        outer.addWidget(box)

        # --- counting and similar tiles
        box = QGroupBox(tr("Count and find similar"))
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.object_edit = QLineEdit()
        self.object_edit.setPlaceholderText(tr("Object to count, e.g. storage tank"))
        self.object_edit.returnPressed.connect(self.count)
        self.count_button = QPushButton(tr("Count"))
        self.count_button.clicked.connect(self.count)
        self.cannot_count: set[str] = set()  # models whose GET /models entry says "counts": false
        row.addWidget(self.object_edit, 1)
        row.addWidget(self.count_button)
        lay.addLayout(row)
        self.similar_button = QToolButton()
        self.similar_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        if getattr(plugin, "similar_action", None) is not None:
            self.similar_button.setDefaultAction(plugin.similar_action)
        lay.addWidget(self.similar_button)
        outer.addWidget(box)

        # --- change between two dates; more like these (few-shot from marked tiles)
        from .change_panel import ChangeBox, FewShotBox

        self.change_box = ChangeBox(self)
        self.fewshot_box = FewShotBox(self)
        outer.addWidget(self.change_box)
        outer.addWidget(self.fewshot_box)

        # --- recent results
        box = QGroupBox(tr("Recent results"))
        lay = QVBoxLayout(box)
        self.results_tree = QTreeWidget()
        self.results_tree.setHeaderLabels([tr("Query"), tr("Kind"), tr("Layers")])
        self.results_tree.setRootIsDecorated(False)
        self.results_tree.itemDoubleClicked.connect(lambda item, _col: self.zoom_to(item))
        lay.addWidget(self.results_tree)
        self.zoom_button = QPushButton(tr("Zoom to"))
        self.zoom_button.clicked.connect(lambda: self.zoom_to(self.results_tree.currentItem()))
        lay.addWidget(self.zoom_button)
        outer.addWidget(box)
        outer.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.load_settings()
        self._show_running()
        if self.iface is not None:
            try:
                self.iface.currentLayerChanged.connect(self.update_tile_hint)
            except (AttributeError, TypeError):  # a test interface without the signal
                pass

    # ------------------------------------------------------------ catalogues: what the search box searches

    NEW_CATALOG = "\x00new"  # the combo's "New catalogue…" entry
    ask_catalog_name = staticmethod(lambda parent: ask_catalog_name(parent))  # replaced in tests

    def _init_catalog_row(self, form) -> None:
        """"Search in": the active layer or a catalogue (GET /catalogs, filled when the backend answers: Refresh,
        or the first job), kept in the settings; and "Add the active layer to the catalogue…"."""
        self._relay.catalogs.connect(self._fill_catalogs)
        self.catalog_infos: dict[str, dict] = {}
        self.new_catalogs: list[str] = []  # named here, not yet in the backend (made by their first add)
        self.catalogs_known = False
        self.search_in_combo = QComboBox()
        self.search_in_combo.setObjectName("RemoteClipSearchIn")
        self.search_in_combo.setToolTip(tr("What the toolbar's search box and the locator search: the active raster "
                                           "layer, or every raster of a catalogue (one layer of hits)"))
        self.search_in_combo.activated.connect(self._search_in_chosen)
        self.add_catalog_button = QPushButton(tr("Add the active layer to the catalogue…"))
        self.add_catalog_button.setToolTip(tr("Embed the active raster layer into the chosen catalogue (a new one "
                                              "when the search is in the active layer)"))
        self.add_catalog_button.clicked.connect(lambda: self.add_active_layer_to_catalog())
        form.addRow(tr("Search in"), self.search_in_combo)
        form.addRow(self.add_catalog_button)
        self._fill_catalogs(None)

    def _fill_catalogs(self, catalogs) -> None:
        """The "Search in" choices: the active layer, the backend's catalogues (``catalogs``: GET /catalogs; None:
        keep those known), catalogues named here, the settings' choice, and "New catalogue…"."""
        try:
            if catalogs is not None:
                self.catalog_infos = {c["name"]: c for c in catalogs if c.get("name")}
                self.catalogs_known = True
            chosen = self._manager().settings.search_in or ""
            combo = self.search_in_combo
            combo.clear()
            combo.addItem(tr("the active layer"), "")
            names = list(self.catalog_infos) + [n for n in self.new_catalogs if n not in self.catalog_infos]
            if chosen and chosen not in names:
                names.append(chosen)
            for name in names:
                info = self.catalog_infos.get(name)
                label = tr("catalogue {0} ({1} rasters)").format(name, info.get("rasters", 0)) if info else \
                    tr("catalogue {0} (new)").format(name)
                combo.addItem(label, name)
            combo.addItem(tr("New catalogue…"), self.NEW_CATALOG)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
        except RuntimeError:  # the dock was deleted meanwhile
            pass

    def set_search_in(self, name: str) -> None:
        """Search the active layer ("") or catalogue ``name`` from the toolbar and the locator (saved)."""
        settings = self._manager().settings
        settings.search_in = name or ""
        if name and name not in self.catalog_infos and name not in self.new_catalogs:
            self.new_catalogs.append(name)
        try:
            settings.save()
        except Exception:  # noqa: BLE001 - settings that cannot be written still hold for this session
            pass
        self._fill_catalogs(None)

    def _search_in_chosen(self, index: int) -> None:
        data = self.search_in_combo.itemData(index)
        if data == self.NEW_CATALOG:
            self.new_catalog()
        else:
            self.set_search_in(data or "")

    def new_catalog(self) -> str:
        """Ask for a new catalogue's name and search in it (it is made by its first add); "" when none given."""
        from .catalog import check_catalog_name

        text = self.ask_catalog_name(self)
        if not text:
            self._fill_catalogs(None)  # back to the choice before
            return ""
        try:
            name = check_catalog_name(text)
        except ValueError as exc:
            self._error(str(exc))
            self._fill_catalogs(None)
            return ""
        self.set_search_in(name)
        return name

    def add_active_layer_to_catalog(self):
        """Add the active raster layer to the chosen catalogue (asked for a new one's name when the search is in
        the active layer), with the dock's model and tiling for a new catalogue; returns the task or None."""
        chosen = self._options_and_layer()
        if chosen is None:
            return None
        options, layer = chosen
        name = self._manager().settings.search_in or self.new_catalog()
        if not name:
            return None
        return self.plugin.add_to_catalog(name, layer, options=options)

    def refresh_catalogs(self) -> None:
        """GET /catalogs from a backend already up, in a worker thread (nothing is started)."""
        manager = self._manager()
        relay = self._relay

        def catalogs():
            from .catalog import fetch_catalogs

            found = fetch_catalogs(manager)
            return found if found or manager.live_client() is not None else None

        in_background("remoteclip-catalogs", catalogs, lambda found: relay.catalogs.emit(found))

    # ------------------------------------------------------------ status and models

    def _manager(self):
        from .backend_process import get_manager

        return get_manager()

    def load_settings(self) -> None:
        """Tiling and precision from the settings, models from a backend already up (none yet: the default
        only, until Refresh or the first job), status without starting anything."""
        manager = self._manager()
        settings = manager.settings
        self._loading = True
        try:
            self.tile_spin.setValue(int(settings.tile_size or 0))
            self.ground_spin.setValue(float(getattr(settings, "ground_size_m", 0.0) or 0.0))
            self.overlap_spin.setValue(float(getattr(settings, "overlap", DEFAULT_OVERLAP)))
            self.bands_edit.setText(getattr(settings, "bands", "") or "")
            self.set_precision(settings.precision)
        finally:
            self._loading = False
        self._fill_models(manager.models())
        self._show_local_status(manager)
        self.update_tile_hint()

    def precision(self) -> str:
        """The chosen precision, one of ``params.PRECISIONS``."""
        return self.precision_combo.currentData() or "exact"

    def set_precision(self, value: str) -> None:
        index = self.precision_combo.findData(value or "exact")
        self.precision_combo.setCurrentIndex(max(0, index))

    def _save_tiling(self, *_) -> None:
        """The Tiling panel into the plugin's settings (saved), where every entry point reads it."""
        if getattr(self, "_loading", False):
            return
        settings = self._manager().settings
        settings.tile_size = int(self.tile_spin.value())
        settings.ground_size_m = float(self.ground_spin.value() or 0.0)
        settings.overlap = float(self.overlap_spin.value())
        settings.bands = self.bands_edit.text().strip()
        settings.precision = self.precision()
        try:
            settings.save()
        except Exception:  # noqa: BLE001 - settings that cannot be written still hold for this session
            pass
        self.update_tile_hint()

    # ------------------------------------------------------------ what the tile size means

    def _model_info(self) -> dict:
        """The chosen model's GET /models entry (empty until a backend answered)."""
        name = self._chosen_model()
        models = self._manager().models()
        for model in models:
            if model.get("name") == name:
                return model
        if not name and models:  # "Default": the backend's default is its first model with weights
            return next((m for m in models if m.get("present")), {})
        return {}

    def tile_hint_text(self, layer=None) -> str:
        """What the Tiling panel means on ``layer`` (default: the active raster), in metres and pixels."""
        layer = layer if layer is not None else self.plugin.active_raster()
        pixel_m = layer_pixel_metres(layer) if layer is not None else None
        ground = float(self.ground_spin.value() or 0.0)
        if ground > 0:
            if pixel_m is None:
                return tr("{0:g} m tiles (no layer with a CRS selected)").format(ground)
            return tr("{0:g} m = {1} px on this layer").format(ground, max(1, round(ground / pixel_m)))
        pixels = int(self.tile_spin.value())
        if pixels > 0:
            if pixel_m is None:
                return tr("{0} px tiles").format(pixels)
            return tr("{0} px = {1:g} m on this layer").format(pixels, round(pixels * pixel_m, 1))
        default_m = self._model_info().get("tile_ground_m")
        if default_m and pixel_m is not None:
            return tr("model's default: {0:g} m = {1} px on this layer").format(
                round(default_m), default_tile_px(default_m, pixel_m))
        if default_m:
            return tr("model's default: {0:g} m on the ground (its input size without a CRS)").format(round(default_m))
        return tr("model's default: its input size in pixels (press Refresh to see the model's ground size)")

    def update_tile_hint(self, *_) -> None:
        try:
            self.tile_hint.setText(self.tile_hint_text())
        except RuntimeError:  # the dock is being deleted
            pass

    # ------------------------------------------------------------ the running job

    def watch(self, task) -> None:
        """Show ``task``'s progress here, with Cancel; job buttons are off until no job runs."""
        if task in self.watched:
            return
        self.watched.append(task)
        try:
            task.progressChanged.connect(lambda value, t=task: self._progress(t, value))
        except RuntimeError:
            pass
        self._show_running()

    def unwatch(self, task) -> None:
        if task in self.watched:
            self.watched.remove(task)
        try:
            self._show_running()
        except RuntimeError:  # the dock was deleted (plugin unloaded) while the task ran
            pass

    def running_task(self):
        """The task the progress bar and Cancel are bound to (the newest running one), or None."""
        return self.watched[-1] if self.watched else None

    def _progress(self, task, value: float) -> None:
        try:
            if task is self.running_task():
                self.progress_bar.setValue(int(value))
                self.job_label.setText(task.description())
        except RuntimeError:  # the task or the dock is gone
            pass

    def _show_running(self) -> None:
        task = self.running_task()
        busy = task is not None
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.job_label.setVisible(busy)
        if busy:
            self.progress_bar.setValue(0)
            try:
                self.job_label.setText(task.description())
                self.progress_bar.setValue(int(task.progress()))
            except RuntimeError:
                self.job_label.setText(getattr(task, "name", ""))
        self.classify_button.setEnabled(not busy)
        for section in (getattr(self, "change_box", None), getattr(self, "fewshot_box", None)):
            if section is not None:
                section.set_busy(busy)
        self._update_count_button()

    def cancel_running(self) -> None:
        """Cancel the job the bar shows (the task says "cancelled" when it ends)."""
        task = self.running_task()
        if task is None:
            return
        self.cancel_button.setEnabled(False)
        try:
            task.cancel()
        except RuntimeError:  # already finished and deleted
            self.unwatch(task)

    def _show_local_status(self, manager) -> None:
        if not manager.is_local():
            self.status_label.setText(tr("Remote backend at {0} (press Refresh to check)").format(
                manager.settings.url or "?"))
        elif manager.process_alive() and manager._client is not None:
            self.status_label.setText(tr("Backend running at {0}").format(manager._client.connection.url))
        else:
            self.status_label.setText(tr("Backend stopped (it starts with the first job, or press Refresh)"))

    def _fill_models(self, models: list[dict]) -> None:
        """The picker from ``GET /models``; it shows (and sets) the settings' model, so that every entry point
        (toolbar, locator, map tool, this dock) uses the one model chosen here."""
        settings = self._manager().settings
        if settings.default_model and settings.weights:
            self.chosen_weights.setdefault(settings.default_model, settings.weights)
        self._filling = True
        try:
            self.model_combo.clear()
            self.model_combo.addItem(tr("Best model present"), "")
            self.model_infos = {m["name"]: m for m in models if m.get("name")}
            for name, model in self.model_infos.items():
                self.model_combo.addItem(model_label(model), name)
            if settings.default_model and settings.default_model not in self.model_infos:  # no backend up yet
                self.model_combo.addItem(settings.default_model, settings.default_model)
            self.cannot_count = {m["name"] for m in models if m.get("name") and m.get("counts") is False}
            index = self.model_combo.findData(settings.default_model) if settings.default_model else 0
            self.model_combo.setCurrentIndex(max(index, 0))
        finally:
            self._filling = False
        self._update_model_row()
        self._update_count_button()
        if hasattr(self, "tile_hint"):  # the models' ground sizes are known now
            self.update_tile_hint()

    def _model_chosen(self, *_) -> None:
        """The user picked a model: it becomes the settings' model (saved), with the weights file chosen for it."""
        if self._filling:
            return
        settings = self._manager().settings
        name = self.model_combo.currentData() or ""
        settings.default_model = name
        settings.weights = self.chosen_weights.get(name, "") if name else ""
        settings.save()
        self._update_model_row()
        self._update_count_button()

    def _update_model_row(self) -> None:
        name = self.model_combo.currentData() or ""
        self.weights_row.show_model(self.model_infos.get(name, {}), self.chosen_weights.get(name, ""))

    def set_weights(self, name: str, path: str) -> None:
        """A weights file chosen for model ``name`` (the chosen one): sent as ``weights`` with its jobs."""
        self.chosen_weights[name] = path
        if name and name == (self.model_combo.currentData() or ""):
            settings = self._manager().settings
            settings.weights = path
            settings.save()
        self._update_model_row()

    def download_model(self, name: str):
        """Fetch ``name``'s weights on the backend's machine (a task: progress, cancel); returns the task."""
        from qgis.core import QgsApplication

        if not name or self.download_task is not None:
            return None
        task = ModelDownloadTask(self._manager(), name, on_finished=self._download_done)
        task.progressChanged.connect(lambda percent: self._download_progress(task, percent))
        self.download_task = task
        self.weights_row.set_downloading(True)
        QgsApplication.taskManager().addTask(task)
        return task

    def _download_progress(self, task, percent: float) -> None:
        try:
            if task is self.download_task:
                self.weights_row.set_downloading(True, percent)
        except RuntimeError:  # the dock was deleted meanwhile
            pass

    def cancel_download(self) -> None:
        if self.download_task is not None:
            self.download_task.cancel()

    def _download_done(self, task) -> None:
        from qgis.core import Qgis

        from .jobs import report, report_error

        try:
            self.download_task = None
            self.weights_row.set_downloading(False)
        except RuntimeError:  # the dock was deleted (plugin unloaded) while it ran
            return
        if task.ok:
            report(tr("{0}: weights downloaded").format(task.name), Qgis.MessageLevel.Success, self.iface)
            manager = self._manager()
            manager.forget_models()  # what GET /models says has changed
            self._fill_models(manager.models(start=False))
        elif task.cancelled:
            report(tr("Download of {0} cancelled: nothing was kept").format(task.name), Qgis.MessageLevel.Info,
                   self.iface)
            self._update_model_row()
        else:
            report_error(tr("Download of {0} failed: {1}").format(task.name, task.error), self.iface)
            self._update_model_row()

    def _chosen_model(self) -> str:
        """The model a job from here uses, as far as the plugin knows (the settings' for "Default")."""
        return self.model_combo.currentData() or self._manager().settings.default_model or ""

    def count_refusal(self) -> str:
        """Why the chosen model cannot count (the backend's model list says so), or "" when it can."""
        name = self._chosen_model()
        if name not in self.cannot_count:
            return ""
        return tr("{0} cannot count: its counts are no better than a constant guess (see its model card)").format(
            name)

    def _update_count_button(self, *_) -> None:
        refusal = self.count_refusal()
        self.count_button.setEnabled(not refusal and not getattr(self, "watched", None))
        self.count_button.setToolTip(refusal or tr("Estimate how many of the object each tile holds (1 to 10)"))

    def refresh(self) -> None:
        """GET /health and GET /models in a worker thread; the answer updates the status and the models."""
        if self._refreshing:
            return
        self._refreshing = True
        self.refresh_button.setEnabled(False)
        self.status_label.setText(tr("Connecting to the backend…"))
        manager = self._manager()
        relay = self._relay
        in_background("remoteclip-status", lambda: fetch_status(manager), lambda answer: relay.status.emit(answer))

    def _show_status(self, answer: dict) -> None:
        self._refreshing = False
        self.refresh_button.setEnabled(True)
        if answer.get("ok"):
            models = answer.get("models") or []
            self._fill_models(models)
            self._fill_catalogs(answer.get("catalogs"))
            present = [m["name"] for m in models if m.get("present")]
            self.status_label.setText(tr("Backend running at {0} (version {1}); models with weights: {2}").format(
                answer["url"], answer.get("version") or "?", ", ".join(present) or tr("none")))
        else:
            self.status_label.setText(tr("Backend stopped: {0}").format(answer.get("error", "")))

    def is_refreshing(self) -> bool:
        return self._refreshing

    # ------------------------------------------------------------ starting jobs

    def _error(self, message: str) -> None:
        from .jobs import report_error

        report_error(message, self.iface)

    def _raster_layer(self):
        """The active raster layer, or None after a message saying what is wrong."""
        active = self.iface.activeLayer()
        if active is not None and active.type() != QgsMapLayerType.RasterLayer:
            self._error(tr("The active layer \"{0}\" is not a raster layer: select a raster layer").format(
                active.name()))
            return None
        layer = active if active is not None else self.plugin.active_raster()
        if layer is None:
            self._error(tr("Select a raster layer first"))
        return layer

    def options(self) -> JobOptions:
        """The dock's choices (ValueError, with a message for the user, for malformed bands)."""
        ground = self.ground_spin.value() or 0.0
        return JobOptions(model=self.model_combo.currentData() or "", tile_size=0 if ground else self.tile_spin.value(),
                          ground_size_m=ground, overlap=float(self.overlap_spin.value()),
                          bands=parse_bands(self.bands_edit.text()),
                          precision=self.precision())

    def _options_and_layer(self):
        """(the dock's choices, the active raster layer), or None after one message (malformed bands, no raster)."""
        try:
            options = self.options()
        except ValueError as exc:
            self._error(str(exc))
            return None
        layer = self._raster_layer()
        return None if layer is None else (options, layer)

    def _job(self, endpoint: str, **query):
        """(params, render) for ``endpoint`` on the active raster with the dock's choices; None after a message."""
        chosen = self._options_and_layer()
        if chosen is None:
            return None
        options, layer = chosen
        job = self.plugin._job(endpoint, options, layer, **query)
        return None if job is None else (job[0], job[1], job[2].name())

    def classes(self) -> list[str]:
        out: list[str] = []
        for name in split_classes(self.classes_edit.toPlainText()):
            if name.lower() not in (c.lower() for c in out):
                out.append(name)
        return out

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name:
            self.set_preset(name)
        self.preset_combo.setCurrentIndex(0)

    def set_preset(self, name: str) -> None:
        self.classes_edit.setPlainText("\n".join(PRESETS[name]))

    def classify(self):
        """Zero-shot classes for the active raster; returns the task or None (after a message)."""
        classes = self.classes()
        if not classes:
            self._error(tr("Enter the classes to classify into, one per line"))
            return None
        if len(classes) < 2:
            self._error(tr("Zero-shot classification needs at least two classes"))
            return None
        job = self._job("classify", classes=classes, transductive=self.transductive_check.isChecked())
        return None if job is None else self._start(*job)

    def count(self):
        """Count estimates of the object for the active raster; returns the task or None (after a message)."""
        obj = self.object_edit.text().strip()
        if not obj:
            self._error(tr("Enter an object to count, e.g. storage tank"))
            return None
        if self.count_refusal():  # Enter in the object field, with the Count button off
            self._error(self.count_refusal())
            return None
        job = self._job("count", object=obj)
        return None if job is None else self._start(*job)

    def _start(self, params, render=None, layer_name: str = ""):
        task = self.plugin._start(params, self._task_done, render, layer_name)
        if task not in self.tasks:  # the same job again is the running task
            self.tasks.append(task)
        return task

    def _task_done(self, task) -> None:
        try:
            if task in self.tasks:
                self.tasks.remove(task)
            self.add_result(task)
        except RuntimeError:  # the dock was deleted (plugin unloaded) while the task ran
            pass

    # ------------------------------------------------------------ recent results

    def add_result(self, task) -> None:
        """A finished task's layers as the first row of "Recent results" (nothing when it made none)."""
        from .jobs import Done

        manager = self._manager()
        self._show_local_status(manager)  # a job may have started the backend: say so
        if not self.model_infos:  # and its models can be listed now
            self._fill_models(manager.models())
        if not self.catalogs_known:  # and its catalogues
            self.refresh_catalogs()
        layers = task.outcome.layers if isinstance(task.outcome, Done) else []
        if not layers:
            return
        ids = [layer.id() for layer in layers]
        title = task.params.title() or task.params.endpoint
        kinds = {"search": tr("search"), "classify": tr("classes"), "count": tr("counts"),
                 "similar": tr("similar tiles"), "change": tr("change"), "fewshot": tr("more like these"),
                 "catalog/search": tr("catalogue search")}
        item = QTreeWidgetItem([title, kinds.get(task.params.endpoint, task.params.endpoint), str(len(ids))])
        item.setData(0, LAYER_IDS_ROLE, ids)
        item.setToolTip(0, "\n".join(layer.name() for layer in layers))
        self.results_tree.insertTopLevelItem(0, item)
        self.results_tree.setCurrentItem(item)
        while self.results_tree.topLevelItemCount() > MAX_RECENT:
            self.results_tree.takeTopLevelItem(self.results_tree.topLevelItemCount() - 1)

    def result_extent(self, item) -> QgsRectangle | None:
        """The union of the extents of the item's layers that are still in the project, in the canvas CRS."""
        project = QgsProject.instance()
        canvas_crs = self.iface.mapCanvas().mapSettings().destinationCrs()
        extent = None
        for layer_id in item.data(0, LAYER_IDS_ROLE) or []:
            layer = project.mapLayer(layer_id)
            if layer is None:
                continue
            rect = QgsRectangle(layer.extent())
            if rect.isEmpty():
                continue
            if canvas_crs.isValid() and layer.crs().isValid() and canvas_crs != layer.crs():
                try:
                    rect = QgsCoordinateTransform(layer.crs(), canvas_crs, project).transformBoundingBox(rect)
                except Exception:  # noqa: BLE001 - no transform: skip this layer
                    continue
            if extent is None:
                extent = rect
            else:
                extent.combineExtentWith(rect)
        return extent

    def zoom_to(self, item) -> bool:
        if item is None:
            self._error(tr("Select a result to zoom to"))
            return False
        extent = self.result_extent(item)
        if extent is None:
            self._error(tr("The layers of \"{0}\" are no longer in the project").format(item.text(0)))
            return False
        canvas = self.iface.mapCanvas()
        canvas.setExtent(extent)
        canvas.refresh()
        return True
