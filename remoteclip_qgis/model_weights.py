"""Weights for the dock's model picker: a model whose weights are not on the backend's machine offers "Download"
(its size shown; a QgsTask asks the backend's ``POST /models/{name}/download`` and polls the job, progress in
percent of the bytes, cancel stops the backend's job, which keeps nothing partial) or "Choose file…" (a local
checkpoint, sent as ``weights``).

Sizes are bytes from ``GET /models`` (``size_bytes``), shown in MB (10^6 bytes) or GB.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from .backend_client import BackendError
from .i18n import tr

POLL_S = 0.2  # seconds between polls of the backend's download job
CANCEL_WAIT_S = 10.0  # seconds a cancelled download may take to confirm that it kept nothing


def format_size(size_bytes: int | None) -> str:
    """"8.2 MB" / "1.2 GB" (decimal units); "" when unknown."""
    if not size_bytes:
        return ""
    if size_bytes >= 10**9:
        return f"{size_bytes / 1e9:.1f} GB"
    return f"{size_bytes / 1e6:.1f} MB"


def model_label(model: dict) -> str:
    """The picker's text for one ``GET /models`` entry: whether its weights are here, else how to get them."""
    name = model.get("name", "")
    if "present" not in model or model["present"]:
        return name if "present" not in model else tr("{0} (weights present)").format(name)
    if model.get("downloadable"):
        size = format_size(model.get("size_bytes"))
        return tr("{0} (download, {1})").format(name, size) if size else tr("{0} (download)").format(name)
    return tr("{0} (choose a weights file)").format(name)


class ModelDownloadTask(QgsTask):
    """Fetch one model's weights on the backend's machine; ``on_finished(task)`` runs on the main thread with
    ``ok``, ``cancelled`` and ``error`` (one line) set."""

    def __init__(self, manager, name: str, on_finished: Callable[[ModelDownloadTask], None] | None = None) -> None:
        super().__init__(tr("RemoteCLIP: download {0}").format(name), QgsTask.Flag.CanCancel)
        self.manager = manager
        self.name = name
        self.on_finished = on_finished
        self.ok = False
        self.cancelled = False
        self.error = ""
        self.done_bytes = 0
        self.total_bytes = 0

    def run(self) -> bool:
        try:
            client = self.manager.client()
            job = client.download_model(self.name)
            cancel_sent = None
            while job["state"] in ("queued", "running"):
                if self.isCanceled() and cancel_sent is None:
                    client.cancel(job["id"])
                    cancel_sent = time.monotonic()
                if cancel_sent is not None and time.monotonic() - cancel_sent > CANCEL_WAIT_S:
                    break
                self.done_bytes, self.total_bytes = int(job.get("done") or 0), int(job.get("total") or 0)
                if self.total_bytes:
                    self.setProgress(100.0 * self.done_bytes / self.total_bytes)
                time.sleep(POLL_S)
                job = client.job(job["id"])
        except BackendError as exc:
            self.error = str(exc)
            return False
        if job["state"] == "done":
            self.ok = True
            self.done_bytes = self.total_bytes = int((job.get("result") or {}).get("size_bytes") or job["done"])
            return True
        if job["state"] == "cancelled" or self.isCanceled():
            self.cancelled = True
            return False
        self.error = job.get("error") or tr("the download failed")
        return False

    def finished(self, result: bool) -> None:
        if self.isCanceled():
            self.cancelled = True
        if self.on_finished is not None:
            self.on_finished(self)


class WeightsRow(QWidget):
    """Under the model picker: nothing when the chosen model's weights are present; else "Download (size)" and
    "Choose file…", and while a download runs a progress bar and "Cancel". Emits ``download_requested(name)``,
    ``cancel_requested()`` and ``weights_chosen(name, path)``; the dock runs the task."""

    download_requested = pyqtSignal(str)
    cancel_requested = pyqtSignal()
    weights_chosen = pyqtSignal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model: dict = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.download_button = QPushButton(tr("Download"))
        self.download_button.clicked.connect(lambda: self.download_requested.emit(self.model.get("name", "")))
        self.choose_button = QPushButton(tr("Choose file…"))
        self.choose_button.setToolTip(tr("A checkpoint file of this model (.pt) on the machine the backend runs on"))
        self.choose_button.clicked.connect(self.choose_file)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        for widget in (self.label, self.download_button, self.choose_button, self.progress, self.cancel_button):
            lay.addWidget(widget, 1 if widget is self.label else 0)
        self.downloading = False
        self.show_model({}, "")

    def show_model(self, model: dict, weights: str) -> None:
        """The row for ``model`` (a ``GET /models`` entry; {} for "best model present") and the weights file
        chosen for it ("" when none)."""
        self.model = model
        missing = bool(model) and model.get("present") is False
        self.setVisible(missing or bool(weights) or self.downloading)
        if weights:
            self.label.setText(tr("Weights file: {0}").format(weights))
        elif model.get("downloadable"):
            size = format_size(model.get("size_bytes"))
            self.label.setText(tr("Its weights are not on the backend's machine yet"))
            self.download_button.setText(tr("Download ({0})").format(size) if size else tr("Download"))
        else:
            self.label.setText(tr("Its weights are not on the backend's machine: choose its weights file"))
        self.download_button.setVisible(missing and bool(model.get("downloadable")) and not self.downloading)
        self.choose_button.setVisible(not self.downloading)
        self.progress.setVisible(self.downloading)
        self.cancel_button.setVisible(self.downloading)

    def set_downloading(self, on: bool, percent: float = 0.0) -> None:
        self.downloading = on
        self.progress.setValue(int(percent))
        if on:
            self.label.setText(tr("Downloading {0}…").format(self.model.get("name", "")))
        self.download_button.setVisible(not on and bool(self.model.get("downloadable")))
        self.choose_button.setVisible(not on)
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        if on:
            self.setVisible(True)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Weights file for {0}").format(self.model.get("name", "")),
                                              "", tr("Checkpoints (*.pt *.pth *.bin *.safetensors);;All files (*)"))
        if path:
            self.weights_chosen.emit(self.model.get("name", ""), path)
