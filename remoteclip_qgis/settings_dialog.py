"""A small settings dialog over PluginSettings (no logic of its own)."""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
)

from .i18n import tr
from .settings import MODES, PluginSettings, default_interpreter


class SettingsDialog(QDialog):
    def __init__(self, settings: PluginSettings, models: list[str], parent=None) -> None:
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
        self.tile_size.setSpecialValueText(tr("model input size"))
        form.addRow(tr("Tile size (pixels)"), self.tile_size)
        self.output = QgsFileWidget()
        self.output.setStorageMode(QgsFileWidget.GetDirectory)
        self.output.setFilePath(settings.output_folder)
        form.addRow(tr("Output folder (empty: the project's folder)"), self.output)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def settings(self) -> PluginSettings:
        return PluginSettings(interpreter=self.interpreter.filePath(), mode=self.mode.currentData(),
                              url=self.url.text().strip(), token=self.token.text().strip(),
                              default_model=self.model.currentText().strip(), weights=self.weights.filePath(),
                              output_folder=self.output.filePath(), tile_size=self.tile_size.value())
