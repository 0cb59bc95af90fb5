"""The settings dialog over PluginSettings: a local / remote switch (the fields of the mode not chosen are
disabled), help text, and "Test connection" (GET /health and GET /models on the configured backend, one line).

The model is chosen in the dock (the plugin's only model picker), so the dialog keeps the settings' model and
weights file as they are. Times are seconds.
"""

from __future__ import annotations

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from .background import in_background
from .i18n import tr
from .settings import PluginSettings, default_interpreter, fallback_output_folder, short_path

TORCH_CHOICES = ("auto", "cpu", "cuda", "pypi")
TEST_TIMEOUT_S = 5.0  # seconds a remote backend has to answer the connection test


def connection_line(settings: PluginSettings, manager=None) -> str:
    """"Test connection: ok (backend 0.1.0, 12 models)", or why not ("refused (wrong token)", "unreachable ...")
    for ``settings``' backend: the URL and token in remote mode; in local mode ``manager`` (the plugin's, when
    its settings are these) or a backend started for the test and stopped after it. One line, never raises."""
    from .backend_client import BackendClient, BackendConnection, BackendEnvMissing, BackendError
    from .backend_process import BackendManager

    own = None
    try:
        if settings.mode == "remote":
            if not settings.url.strip():
                return tr("Test connection: no backend URL set")
            client = BackendClient(BackendConnection(settings.url.strip().rstrip("/"), settings.token.strip()),
                                   timeout=TEST_TIMEOUT_S)
        else:
            if manager is None:
                own = manager = BackendManager(settings)
            client = manager.client()
        version = client.health().get("version") or "?"
        models = client.models()
        return tr("Test connection: ok (backend {0}, {1} models)").format(version, len(models))
    except BackendEnvMissing:
        return tr("Test connection: the backend's Python environment is missing (create it from the RemoteCLIP "
                  "menu)")
    except BackendError as exc:
        if exc.status == 401:
            return tr("Test connection: refused (wrong token)")
        if exc.status is None:
            return tr("Test connection: unreachable ({0})").format(str(exc))
        return tr("Test connection: refused ({0})").format(exc.reason)
    except Exception as exc:  # noqa: BLE001 - one line in the dialog, never a traceback
        return tr("Test connection: failed ({0})").format(f"{type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        if own is not None:
            own.stop()


class _Relay(QObject):
    line = pyqtSignal(str)


class SettingsDialog(QDialog):
    def __init__(self, settings: PluginSettings, parent=None, manager=None) -> None:
        """``manager``: the plugin's backend manager, used by "Test connection" when its settings match."""
        super().__init__(parent)
        self.setWindowTitle(tr("RemoteCLIP settings"))
        self._original = settings
        self._manager = manager
        self._relay = _Relay()
        self._relay.line.connect(self._tested)
        self.testing = False
        outer = QVBoxLayout(self)
        help_label = QLabel(tr(
            "RemoteCLIP runs its model in a backend process of its own. Local: the plugin starts it with the "
            "Python below (empty: the environment it creates on first use). Remote: it connects to a backend "
            "started elsewhere (python -m backend serve, e.g. on a GPU workstation through an SSH tunnel), with "
            "the URL and token from that backend's state file; files on this machine are uploaded to it. The "
            "model is chosen in the RemoteCLIP panel."))
        help_label.setWordWrap(True)
        outer.addWidget(help_label)

        # --- which backend
        box = QGroupBox(tr("Backend"))
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.local_radio = QRadioButton(tr("Start a local backend"))
        self.remote_radio = QRadioButton(tr("Connect to a running backend"))
        row.addWidget(self.local_radio)
        row.addWidget(self.remote_radio)
        form.addRow(row)
        self.interpreter = QgsFileWidget()
        self.interpreter.setFilePath(settings.interpreter)
        self.interpreter.lineEdit().setPlaceholderText(default_interpreter())
        self.interpreter.setToolTip(tr("The Python that runs the backend (it needs the backend's packages)"))
        form.addRow(tr("Python interpreter"), self.interpreter)
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
        self.url = QLineEdit(settings.url)
        self.url.setPlaceholderText("http://127.0.0.1:8765")
        self.url.setToolTip(tr("The remote backend's address (its state file's url)"))
        form.addRow(tr("Backend URL"), self.url)
        self.token = QLineEdit(settings.token)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setToolTip(tr("The remote backend's bearer token (its state file's token)"))
        form.addRow(tr("Token"), self.token)
        row = QHBoxLayout()
        self.test_button = QPushButton(tr("Test connection"))
        self.test_button.setToolTip(tr("Ask the backend configured here for its health and models (a local one is "
                                       "started for the test)"))
        self.test_button.clicked.connect(self.test_connection)
        self.test_label = QLabel()
        self.test_label.setWordWrap(True)
        self.test_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.test_button)
        row.addWidget(self.test_label, 1)
        form.addRow(row)
        outer.addWidget(box)
        self.local_fields = (self.interpreter, self.base_python, self.torch_index)
        self.remote_fields = (self.url, self.token)

        # --- jobs
        box = QGroupBox(tr("Jobs"))
        form = QFormLayout(box)
        self.output = QgsFileWidget()
        self.output.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
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
        outer.addWidget(box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.local_radio.toggled.connect(self._mode_changed)
        (self.remote_radio if settings.mode == "remote" else self.local_radio).setChecked(True)
        self._mode_changed()

    def mode(self) -> str:
        return "remote" if self.remote_radio.isChecked() else "local"

    def _mode_changed(self, *_) -> None:
        remote = self.mode() == "remote"
        for widget in self.local_fields:
            widget.setEnabled(not remote)
        for widget in self.remote_fields:
            widget.setEnabled(remote)
        self.test_label.clear()

    def test_connection(self) -> None:
        """Run the connection test in a worker thread; its one line appears beside the button."""
        if self.testing:
            return
        self.testing = True
        self.test_button.setEnabled(False)
        self.test_label.setText(tr("Test connection: connecting…"))
        settings = self.settings()
        manager = self._manager
        if manager is not None and (manager.settings.mode, manager.settings.interpreter, manager.settings.url,
                                    manager.settings.token) != (settings.mode, settings.interpreter, settings.url,
                                                                settings.token):
            manager = None  # other settings than the running backend's: test those
        relay = self._relay
        in_background("remoteclip-test-connection", lambda: connection_line(settings, manager),
                      lambda line: relay.line.emit(line))

    def _tested(self, line: str) -> None:
        self.testing = False
        self.test_button.setEnabled(True)
        self.test_label.setText(line)

    def settings(self) -> PluginSettings:
        remote = self.mode() == "remote"
        o = self._original
        return PluginSettings(interpreter=self.interpreter.filePath(), mode=self.mode(),
                              url=self.url.text().strip() if remote else o.url,
                              token=self.token.text().strip() if remote else o.token,
                              default_model=o.default_model, weights=o.weights,
                              output_folder=self.output.filePath(), tile_size=o.tile_size,
                              precision=o.precision,  # the dock's Tiling panel sets it
                              confirm_above_s=self.confirm.value(), base_python=self.base_python.filePath(),
                              torch_index=self.torch_index.currentText().strip() or "auto")
