"""A small settings dialog over PluginSettings (no logic of its own)."""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
)

from .i18n import tr
from .settings import MODES, PluginSettings, default_interpreter, fallback_output_folder, short_path

TORCH_CHOICES = ("auto", "cpu", "cuda", "pypi")


class SettingsDialog(QDialog):
    def __init__(self, settings: PluginSettings, models: list[str], parent=None) -> None:
        """``models``: names from the backend's GET /models (empty while no backend is up: the box is editable)."""
        super().__init__(parent)
        self.setWindowTitle(tr("RemoteCLIP settings"))
        form = QFormLayout(self)
        self.mode = QComboBox()
        for mode, label in zip(MODES, (tr("Start a local backend"), tr("Connect to a running backend"))):
            self.mode.addItem(label, mode)
        self.mode.setCurrentIndex(max(0, self.mode.findData(settings.mode)))
        form.addRow(tr("Backend"), self.mode)
        self.interpreter = QgsFileWidget()
        self.interpreter.setFilePath(settings.interpreter)
        self.interpreter.lineEdit().setPlaceholderText(default_interpreter())
        form.addRow(tr("Python interpreter"), self.interpreter)
        self.url = QLineEdit(settings.url)
        self.url.setPlaceholderText("http://127.0.0.1:8765")
        form.addRow(tr("Backend URL"), self.url)
        self.token = QLineEdit(settings.token)
        self.token.setEchoMode(QLineEdit.Password)
        form.addRow(tr("Token"), self.token)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItem("")
        self.model.addItems(models)
        self.model.setCurrentText(settings.default_model)
        form.addRow(tr("Model (empty: the best one present)"), self.model)
        self.weights = QgsFileWidget()
        self.weights.setFilePath(settings.weights)
        form.addRow(tr("Weights file"), self.weights)
        self.tile_size = QSpinBox()
        self.tile_size.setRange(0, 4096)
        self.tile_size.setValue(settings.tile_size)
        self.tile_size.setSpecialValueText(tr("model's default"))
        form.addRow(tr("Tile size (pixels)"), self.tile_size)
        self.fast = QCheckBox(tr("Fast (int8)"))
        self.fast.setChecked(settings.precision == "int8")
        self.fast.setToolTip(tr("Embed with the backend's int8 fast path (about 1.6 times faster on a CPU, nearly "
                                "the same results); its embeddings are cached apart from exact ones"))
        form.addRow(tr("Embeddings"), self.fast)
        self.output = QgsFileWidget()
        self.output.setStorageMode(QgsFileWidget.GetDirectory)
        self.output.setFilePath(settings.output_folder)
        fallback = short_path(fallback_output_folder())
        self.output.lineEdit().setPlaceholderText(tr("the project's folder; unsaved: {0}").format(fallback))
        form.addRow(tr("Output folder (empty: the project's folder, or {0} while the project is unsaved)").format(
            fallback), self.output)
        self.confirm = QSpinBox()
        self.confirm.setRange(0, 7 * 24 * 3600)
        self.confirm.setSuffix(" s")
        self.confirm.setValue(settings.confirm_above_s)
        self.confirm.setSpecialValueText(tr("never ask"))
        form.addRow(tr("Ask before embeddings longer than"), self.confirm)
        # the backend's own environment, created by the plugin on first use
        self.base_python = QgsFileWidget()
        self.base_python.setFilePath(settings.base_python)
        self.base_python.lineEdit().setPlaceholderText(tr("the best Python 3.10+ found"))
        form.addRow(tr("Python to create the backend environment from"), self.base_python)
        self.torch_index = QComboBox()
        self.torch_index.setEditable(True)
        for choice in TORCH_CHOICES:
            self.torch_index.addItem(choice)
        self.torch_index.setCurrentText(settings.torch_index or "auto")
        self.torch_index.setToolTip(tr("auto: CUDA wheels with an NVIDIA GPU, CPU wheels without; pypi: PyPI's "
                                       "build; or the URL of a package index"))
        form.addRow(tr("PyTorch build"), self.torch_index)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def settings(self) -> PluginSettings:
        return PluginSettings(interpreter=self.interpreter.filePath(), mode=self.mode.currentData(),
                              url=self.url.text().strip(), token=self.token.text().strip(),
                              default_model=self.model.currentText().strip(), weights=self.weights.filePath(),
                              output_folder=self.output.filePath(), tile_size=self.tile_size.value(),
                              precision="int8" if self.fast.isChecked() else "exact",
                              confirm_above_s=self.confirm.value(), base_python=self.base_python.filePath(),
                              torch_index=self.torch_index.currentText().strip() or "auto")
