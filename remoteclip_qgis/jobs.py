"""Jobs against the backend: one QgsTask per job (Deepness style).

``run_job`` does the HTTP work (query; when the backend answers 409, embed as a background job,
poll its progress, honour cancellation, then query again) and is shared by the tasks and the
Processing algorithms. ``RemoteClipTask.finished`` runs on the main thread and adds the
GeoPackage's layers to the project.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask

from .backend_client import BackendClient, BackendEnvMissing, BackendError
from .i18n import tr
from .params import EmbedParams

LOG_TAG = "RemoteCLIP"
POLL_S = 0.25
EMBED_SHARE = 95.0  # of the progress bar; the query takes the rest


class JobCancelled(Exception):
    """The user cancelled; the backend job was told to stop."""


class NeedsConfirmation(Exception):
    """Embedding would cost more than the user agreed to wait for without being asked; ``estimate`` is
    the backend's answer to POST /estimate (tiles, seconds, disk bytes, a one-line summary)."""

    def __init__(self, estimate: dict) -> None:
        super().__init__(estimate.get("summary", ""))
        self.estimate = estimate


Progress = Callable[[float], None]
IsCanceled = Callable[[], bool]
OnEstimate = Callable[[dict], None]
Confirm = Callable[[dict], bool]


def check_cost(client: BackendClient, params: EmbedParams, on_estimate: OnEstimate | None = None,
               confirm: Confirm | None = None) -> dict:
    """Ask the backend what embedding ``params``' raster will cost, before it starts: the estimate goes to
    ``on_estimate``; when ``confirm(estimate)`` is false, NeedsConfirmation stops the job here."""
    estimate = client.estimate(**params.embed_request())
    if on_estimate is not None:
        on_estimate(estimate)
    if not estimate.get("embedded") and confirm is not None and not confirm(estimate):
        raise NeedsConfirmation(estimate)
    return estimate


def embed(client: BackendClient, params: EmbedParams, progress: Progress | None = None,
          is_canceled: IsCanceled | None = None, on_job: Callable[[str], None] | None = None,
          poll_s: float = POLL_S) -> dict:
    """POST /embed and poll the job to its end; returns the job's final status (state "done")."""
    job = client.embed(**params.embed_request())
    if on_job is not None:
        on_job(job["id"])
    while True:
        if is_canceled is not None and is_canceled():
            try:
                client.cancel(job["id"])
            except BackendError:
                pass
            raise JobCancelled(job["id"])
        if job["state"] in ("done", "failed", "cancelled"):
            break
        if progress is not None and job.get("total"):
            progress(EMBED_SHARE * job["done"] / job["total"])
        time.sleep(poll_s)
        job = client.job(job["id"])
    if job["state"] == "failed":
        raise BackendError(job.get("error") or "embedding failed")
    if job["state"] == "cancelled":
        raise JobCancelled(job["id"])
    if progress is not None:
        progress(EMBED_SHARE)
    return job


def run_job(client: BackendClient, params: EmbedParams, progress: Progress | None = None,
            is_canceled: IsCanceled | None = None, on_job: Callable[[str], None] | None = None,
            poll_s: float = POLL_S, on_estimate: OnEstimate | None = None, confirm: Confirm | None = None) -> dict:
    """Run ``params``' job: for a query, ask once; when the raster is not embedded yet (409), say what
    embedding will cost (``on_estimate``, ``confirm``: see check_cost), embed it and ask again.
    Returns the backend's answer (for "embed", the finished job's status)."""
    if params.endpoint == "embed":
        check_cost(client, params, on_estimate, confirm)
        job = embed(client, params, progress, is_canceled, on_job, poll_s)
        if progress is not None:
            progress(100.0)
        return job
    query = getattr(client, params.endpoint)
    try:
        answer = query(**params.request())
    except BackendError as exc:
        if exc.status != 409:
            raise
        check_cost(client, params, on_estimate, confirm)
        embed(client, params, progress, is_canceled, on_job, poll_s)
        if is_canceled is not None and is_canceled():
            raise JobCancelled("") from None
        answer = query(**params.request())
    if progress is not None:
        progress(100.0)
    return answer


def run_to_gpkg(client: BackendClient, params: EmbedParams, remote: bool, progress: Progress | None = None,
                is_canceled: IsCanceled | None = None, on_job: Callable[[str], None] | None = None,
                poll_s: float = POLL_S, on_estimate: OnEstimate | None = None, confirm: Confirm | None = None) -> dict:
    """``run_job``, with the result always in the local GeoPackage ``params.output``: a local backend
    writes it itself; a remote one (its files are on another machine) answers GeoJSON, written here."""
    if not remote or params.endpoint == "embed" or not getattr(params, "output", None):
        return run_job(client, params, progress, is_canceled, on_job, poll_s, on_estimate, confirm)
    from dataclasses import replace

    local = params.output
    changes = {"output": None}
    if hasattr(params, "include_surface"):
        changes["include_surface"] = True
    answer = run_job(client, replace(params, **changes), progress, is_canceled, on_job, poll_s, on_estimate, confirm)
    from .result_layers import write_geojson_gpkg

    write_geojson_gpkg(answer.get("layers") or {}, answer.get("crs_wkt"), local)
    answer["output"] = str(local)
    return answer


def report_error(message: str, iface=None) -> None:
    """One line to the message log always, and to the message bar when there is a GUI."""
    QgsMessageLog.logMessage(message, LOG_TAG, Qgis.Critical)
    if iface is not None:
        try:
            iface.messageBar().pushMessage(LOG_TAG, message, level=Qgis.Critical, duration=10)
        except Exception:  # noqa: BLE001 - a missing bar must not hide the error
            pass


def ask_to_embed(estimate: dict, iface=None) -> bool:
    """Main thread: show the estimate and ask whether to start embedding (Yes / Cancel)."""
    from qgis.PyQt.QtWidgets import QMessageBox

    parent = iface.mainWindow() if iface is not None else None
    text = tr("Embedding this raster with {0} will take {1}.\n\nIt runs in the background and can be "
              "cancelled from the task manager; later searches of this raster are instant. Start now?").format(
        estimate.get("model", ""), estimate.get("summary", ""))
    answer = QMessageBox.question(parent, tr("RemoteCLIP: embed raster"), text,
                                  QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Yes)
    return answer == QMessageBox.Yes


class RemoteClipTask(QgsTask):
    """Embed (when needed) and run one query in a worker thread; add the result layers on the main thread.

    ``render``: a layer the backend cannot read (web, tile, virtual) is rendered through QGIS and sent
    first (see raster_source). Before embedding, the backend's estimate is logged and shown in the task's
    description; when it is over ``settings.confirm_above_s`` seconds and the task is not ``confirmed``,
    the task stops before embedding and ``finished`` asks the user (``ask``): yes starts ``follow_up``, a
    confirmed copy of this task.

    ``on_finished(task)`` is called on the main thread after the layers were added (``task.layers``),
    after a failure (``task.error``) or cancel (``task.cancelled``), or when a ``follow_up`` took over.
    """

    ask = staticmethod(ask_to_embed)  # replaced in tests: the only dialog a task opens

    def __init__(self, params: EmbedParams, manager=None, iface=None, add_layers: bool = True,
                 on_finished: Callable[[RemoteClipTask], None] | None = None, render=None,
                 confirmed: bool = False) -> None:
        title = params.title()
        name = render.name if render is not None else Path(params.raster).name
        super().__init__(tr("RemoteCLIP: {0}").format(title or name), QgsTask.CanCancel)
        self.params = params
        self.manager = manager
        self.iface = iface
        self.add_layers = add_layers
        self.on_finished = on_finished
        self.render = render
        self.confirmed = confirmed
        self.job_id: str | None = None
        self.result: dict | None = None
        self.error: str | None = None
        self.cancelled = False
        self.estimate: dict | None = None
        self.needs_confirmation = False
        self.env_missing = False  # the backend's Python is missing or incomplete (the plugin offers to make it)
        self.follow_up: RemoteClipTask | None = None
        self.restarted: str | None = None  # set when the backend was found dead and restarted for this task
        self.layers: list = []
        if params.endpoint != "embed" and not getattr(params, "output", None):
            from .result_layers import gpkg_path
            from .settings import PluginSettings, output_folder

            settings = manager.settings if manager is not None else PluginSettings.load()
            params.output = str(gpkg_path(output_folder(settings), params.endpoint, title))

    def _set_job(self, job_id: str) -> None:
        self.job_id = job_id

    def _on_estimate(self, estimate: dict) -> None:
        self.estimate = estimate
        if not estimate.get("embedded"):
            QgsMessageLog.logMessage(tr("Embedding {0}: {1}").format(self.description(), estimate.get("summary")),
                                     LOG_TAG, Qgis.Info)
            self.setDescription(tr("RemoteCLIP: embedding, {0}").format(estimate.get("summary")))

    def _confirm(self, estimate: dict) -> bool:
        limit = getattr(self.manager.settings, "confirm_above_s", 0) if self.manager is not None else 0
        return self.confirmed or limit <= 0 or float(estimate.get("seconds", 0)) <= limit

    def run(self) -> bool:
        try:
            if self.manager is None:
                from .backend_process import get_manager

                self.manager = get_manager()
            restarts = self.manager.restarts
            client = self.manager.client()
            if self.manager.restarts > restarts:
                self.restarted = self.manager.last_death
            if self.render is not None and not self.params.raster.startswith("upload:"):
                from .raster_source import render_and_send

                self.setProgress(1.0)
                self.params.raster = render_and_send(client, self.render)
            self.result = run_to_gpkg(client, self.params, remote=not self.manager.is_local(),
                                      progress=self.setProgress, is_canceled=self.isCanceled, on_job=self._set_job,
                                      on_estimate=self._on_estimate, confirm=self._confirm)
            return True
        except NeedsConfirmation:
            self.needs_confirmation = True
            return False
        except JobCancelled:
            self.cancelled = True
            return False
        except BackendError as exc:
            self.error = str(exc)
            self.env_missing = isinstance(exc, BackendEnvMissing)
            return False
        except Exception as exc:  # noqa: BLE001 - a bug: one line to the user, the trace to the log
            from .raster_source import RasterSourceError

            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if isinstance(exc, RasterSourceError):
                self.error = str(exc)
            else:
                QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)
            return False

    def _ask_and_follow_up(self) -> None:
        """Main thread: show the estimate; on yes, start a confirmed copy of this task."""
        if not self.ask(self.estimate or {}, self.iface):
            self.cancelled = True
            QgsMessageLog.logMessage(tr("Not embedded: {0}").format((self.estimate or {}).get("summary")),
                                     LOG_TAG, Qgis.Info)
            return
        from qgis.core import QgsApplication

        follow = RemoteClipTask(self.params, manager=self.manager, iface=self.iface, add_layers=self.add_layers,
                                on_finished=self.on_finished, render=None, confirmed=True)
        self.follow_up = follow
        QgsApplication.taskManager().addTask(follow)

    def finished(self, result: bool) -> None:  # main thread
        if self.restarted:  # say so: a crash (out of memory, killed) must not pass unnoticed
            QgsMessageLog.logMessage(self.restarted, LOG_TAG, Qgis.Warning)
            if self.iface is not None:
                try:
                    self.iface.messageBar().pushMessage(LOG_TAG, self.restarted, level=Qgis.Warning, duration=10)
                except Exception:  # noqa: BLE001
                    pass
        try:
            if result and self.add_layers and self.params.endpoint != "embed":
                from .result_layers import add_result

                output = (self.result or {}).get("output") or getattr(self.params, "output", None)
                if output:
                    self.layers = add_result(output, self.params.endpoint, self.params.title())
            elif not result:
                if self.needs_confirmation:
                    self._ask_and_follow_up()
                elif self.cancelled or self.isCanceled():
                    self.cancelled = True
                    QgsMessageLog.logMessage(tr("Cancelled: {0}").format(self.description()), LOG_TAG, Qgis.Info)
                elif self.env_missing:  # the plugin offers to create the environment (on_finished)
                    QgsMessageLog.logMessage(self.error or "", LOG_TAG, Qgis.Warning)
                else:
                    report_error(self.error or tr("The task failed"), self.iface)
        except Exception as exc:  # noqa: BLE001
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            report_error(self.error, self.iface)
        if self.on_finished is not None:
            self.on_finished(self)
