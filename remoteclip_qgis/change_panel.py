"""Two dock sections: "Change between two dates" and "More like these" (few-shot from marked tiles).

Each is a QGroupBox the dock adds; its Run button builds the job with ``plugin._job`` (params.build_params, the
dock's model and the one tiling state) and starts it through ``plugin._start`` like every other entry point, so
the task, its estimate question, progress and cancel are the same. Bad input is one message bar line.
"""

from __future__ import annotations

from qgis.core import QgsMapLayerType, QgsProject
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from .i18n import tr
from .params import NEGATIVE_LABEL, split_phrases


def raster_combo():
    """A layer picker listing the project's raster layers."""
    from qgis.core import QgsMapLayerProxyModel
    from qgis.gui import QgsMapLayerComboBox

    combo = QgsMapLayerComboBox()
    try:  # QGIS 3.34+: Qgis.LayerFilter; before, QgsMapLayerProxyModel's own enum
        from qgis.core import Qgis

        combo.setFilters(Qgis.LayerFilter.RasterLayer)
    except (AttributeError, TypeError):
        combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
    combo.setAllowEmptyLayer(True)
    return combo


def k_spin(value: int = 10) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(1, 1000)
    spin.setValue(value)
    return spin


class _JobBox(QGroupBox):
    """A dock section that starts jobs: off while a job runs (``set_busy``, called by the dock)."""

    def __init__(self, dock, title: str) -> None:
        super().__init__(title)
        self.dock = dock
        self.run_button = QPushButton()

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)

    def _options(self):
        try:
            return self.dock.options()
        except ValueError as exc:
            self.dock._error(str(exc))
            return None

    def _start(self, params, render, layer_name: str, on_done=None):
        dock = self.dock

        def done(task) -> None:
            dock._task_done(task)
            if on_done is not None:
                try:
                    on_done(task)
                except RuntimeError:  # the dock was deleted (plugin unloaded) while the task ran
                    pass

        task = dock.plugin._start(params, done, render, layer_name)
        if task not in dock.tasks:
            dock.tasks.append(task)
        return task


class ChangeBox(_JobBox):
    """BEFORE and AFTER raster layers, an optional phrase (what appeared), the number of tiles, Run."""

    def __init__(self, dock) -> None:
        super().__init__(dock, tr("Change between two dates"))
        form = QFormLayout(self)
        self.before_combo = raster_combo()
        self.before_combo.setToolTip(tr("The earlier raster"))
        form.addRow(tr("Before"), self.before_combo)
        self.after_combo = raster_combo()
        self.after_combo.setToolTip(tr("The later raster of the same place (put on the grid of the earlier one "
                                       "when its grid or CRS differ)"))
        form.addRow(tr("After"), self.after_combo)
        self.query_edit = QLineEdit()
        self.query_edit.setPlaceholderText(tr("optional: what appeared, e.g. new buildings"))
        self.query_edit.setToolTip(tr("Empty: rank the tiles by how much they changed. A phrase: by how much "
                                      "closer they came to it"))
        form.addRow(tr("Phrase"), self.query_edit)
        self.k_spin = k_spin()
        form.addRow(tr("Tiles"), self.k_spin)
        self.run_button.setText(tr("Find changes"))
        self.run_button.clicked.connect(self.run)
        form.addRow(self.run_button)

    def run(self):
        """Change from BEFORE to AFTER; returns the task, or None after one message."""
        from .raster_source import RasterSourceError, raster_input

        before, after = self.before_combo.currentLayer(), self.after_combo.currentLayer()
        if before is None or after is None:
            self.dock._error(tr("Choose the raster layers of the two dates (before and after)"))
            return None
        if before.id() == after.id():
            self.dock._error(tr("Choose two different raster layers for the two dates"))
            return None
        options = self._options()
        if options is None:
            return None
        plugin = self.dock.plugin
        try:
            after_path, after_render = raster_input(after, plugin.iface.mapCanvas().mapSettings())
        except RasterSourceError as exc:
            self.dock._error(str(exc))
            return None
        job = plugin._job("change", options, before, after=after_path,
                          queries=split_phrases(self.query_edit.text()), k=int(self.k_spin.value()))
        if job is None:
            return None
        params, render, layer = job
        params.after_render = after_render
        params.dates = f"{before.name()} → {after.name()}"
        return self._start(params, render, layer.name())


class FewShotBox(_JobBox):
    """Mark tiles on the map with a label (a right or shift click marks a counter-example), then find more like
    them: classes with two or more labels, a ranking with one. Run again after marking more: the new result
    replaces the previous one."""

    def __init__(self, dock) -> None:
        super().__init__(dock, tr("More like these"))
        form = QFormLayout(self)
        self.raster_combo = raster_combo()
        form.addRow(tr("Raster"), self.raster_combo)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText(tr("label of the marks, e.g. forest"))
        self.label_edit.setToolTip(tr("A left click marks a tile with this label; a right or shift click marks a "
                                      "counter-example (\"negative\"). Two or more labels give classes, one label "
                                      "a ranking"))
        form.addRow(tr("Label"), self.label_edit)
        row = QHBoxLayout()
        self.mark_button = QPushButton(tr("Mark"))
        self.mark_button.setCheckable(True)
        self.mark_button.setToolTip(tr("Click tiles on the map to mark them (right click: counter-example)"))
        self.mark_button.toggled.connect(self._toggle_tool)
        self.clear_button = QPushButton(tr("Clear marks"))
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.mark_button)
        row.addWidget(self.clear_button)
        form.addRow(row)
        self.marks_label = QLabel()
        self.marks_label.setWordWrap(True)
        form.addRow(self.marks_label)
        self.text_prior_check = QCheckBox(tr("Use the labels' words as a hint"))
        self.text_prior_check.setChecked(True)
        self.text_prior_check.setToolTip(tr("A label that is a phrase (forest, bare soil) adds its text embedding "
                                            "as one more example"))
        form.addRow(self.text_prior_check)
        self.k_spin = k_spin()
        self.k_spin.setToolTip(tr("Hits of a ranking (one label)"))
        form.addRow(tr("Hits"), self.k_spin)
        self.run_button.setText(tr("Find more like these"))
        self.run_button.clicked.connect(self.run)
        form.addRow(self.run_button)
        self.tool = None
        self.result_ids: list[str] = []  # the layers of the last result, replaced by the next one
        self.update_marks()

    # ------------------------------------------------------------ marks

    def marks(self, create: bool = False):
        from .marks import marks_layer

        canvas = self.dock.plugin.iface.mapCanvas()
        return marks_layer(crs=canvas.mapSettings().destinationCrs(), create=create)

    def make_tool(self):
        from .marks import MarkTool

        if self.tool is None:
            canvas = self.dock.plugin.iface.mapCanvas()
            self.tool = MarkTool(canvas, self.label_edit.text, marked=lambda _f: self.update_marks(),
                                 refused=self.dock._error)
            self.tool.deactivated.connect(lambda: self.mark_button.setChecked(False))
        return self.tool

    def _toggle_tool(self, on: bool) -> None:
        canvas = self.dock.plugin.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.make_tool())
        elif self.tool is not None and canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)

    def release_tool(self) -> None:
        """Unset and drop the mark tool (the plugin unloads)."""
        if self.tool is None:
            return
        canvas = self.dock.plugin.iface.mapCanvas()
        if canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)
        self.tool.deleteLater()
        self.tool = None

    def clear(self) -> None:
        from .marks import clear_marks

        layer = self.marks()
        if layer is not None:
            clear_marks(layer)
        self.update_marks()

    def update_marks(self) -> None:
        from .marks import mark_counts

        counts = mark_counts(self.marks())
        if not counts:
            self.marks_label.setText(tr("No marks yet: press Mark and click tiles on the map"))
            return
        parts = [f"{label or '?'} {n}" for label, n in sorted(counts.items())]
        self.marks_label.setText(tr("Marks: {0}").format(", ".join(parts)))

    # ------------------------------------------------------------ running

    def _raster(self):
        layer = self.raster_combo.currentLayer()
        if layer is None:
            active = self.dock.plugin.active_raster()
            layer = active if active is not None and active.type() == QgsMapLayerType.RasterLayer else None
        return layer

    def run(self):
        """Few-shot over the marks; returns the task, or None after one message."""
        from .marks import LABEL_FIELD, examples_geojson, mark_counts

        layer = self._raster()
        if layer is None:
            self.dock._error(tr("Choose the raster layer to find more like the marks in"))
            return None
        marks = self.marks()
        counts = mark_counts(marks)
        if not [label for label in counts if label and label != NEGATIVE_LABEL]:
            self.dock._error(tr("Mark some tiles first: type a label, press Mark and click them on the map"))
            return None
        options = self._options()
        if options is None:
            return None
        examples = examples_geojson(marks.getFeatures(), LABEL_FIELD, marks.crs())
        job = self.dock.plugin._job("fewshot", options, layer, examples=examples, label_field=LABEL_FIELD,
                                    k=int(self.k_spin.value()), text_prior=self.text_prior_check.isChecked())
        if job is None:
            return None
        params, render, raster = job
        return self._start(params, render, raster.name(), on_done=self._replace_previous)

    def _replace_previous(self, task) -> None:
        """A new result replaces the last one (its group and layers leave the project)."""
        from .jobs import Done

        if not isinstance(task.outcome, Done) or not task.outcome.layers:
            return
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        for layer_id in self.result_ids:
            node = root.findLayer(layer_id)
            group = node.parent() if node is not None else None
            if group is not None and group is not root and group.parent() is not None:
                group.parent().removeChildNode(group)
            if project.mapLayer(layer_id) is not None:
                project.removeMapLayer(layer_id)
        self.result_ids = [lyr.id() for lyr in task.outcome.layers]
