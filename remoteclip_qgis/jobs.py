"""Jobs against the backend: one QgsTask per job (Deepness style).

``run_job`` does the HTTP work (query; when the backend answers 409, embed as a background job,
poll its progress, honour cancellation, then query again) and is shared by the tasks and the
Processing algorithms. A task's outcome is one ``TaskResult`` made in ``RemoteClipTask.run`` (a
worker thread): ``Done`` (the backend's answer; the layers added later), ``Failed`` (the backend's
one-line reason), ``Cancelled`` or ``Unconfirmed`` (the embedding's estimate, to ask about).
``RemoteClipTask.finished`` acts on it on the main thread: adds the GeoPackage's layers, reports.
Progress is in percent.
"""

from __future__ import annotations

import base64
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask

from .backend_client import BackendClient, BackendEnvMissing, BackendError
from .i18n import tr
from .params import RASTER_OUTPUTS, EmbedParams

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


def follow_job(client: BackendClient, job: dict, progress: Progress | None = None,
               is_canceled: IsCanceled | None = None, poll_s: float = POLL_S, share: float = 100.0,
               failed: str = "the backend's job failed") -> dict:
    """Poll a backend job (embedding, a catalogue's rasters) to its end; returns its final status ("done").

    ``progress`` hears ``share`` x done/total (percent); a cancel is sent on to the backend and raises
    JobCancelled, as does a job the backend cancelled; a failed job raises BackendError with its line (or
    ``failed``)."""
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
            progress(share * job["done"] / job["total"])
        time.sleep(poll_s)
        job = client.job(job["id"])
    if job["state"] == "failed":
        raise BackendError(job.get("error") or failed)
    if job["state"] == "cancelled":
        raise JobCancelled(job["id"])
    return job


def embed(client: BackendClient, params: EmbedParams, progress: Progress | None = None,
          is_canceled: IsCanceled | None = None, on_job: Callable[[str], None] | None = None,
          poll_s: float = POLL_S) -> dict:
    """POST /embed and poll the job to its end; returns the job's final status (state "done")."""
    job = client.embed(**params.embed_request())
    if on_job is not None:
        on_job(job["id"])
    job = follow_job(client, job, progress, is_canceled, poll_s, share=EMBED_SHARE, failed="embedding failed")
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
    rasters = 2 if params.endpoint == "change" else 1  # a change has two dates to embed, one per 409
    for attempt in range(rasters + 1):
        try:
            answer = query(**params.request())
            break
        except BackendError as exc:
            if exc.status != 409 or attempt == rasters:
                raise
            target = missing_store(client, params, exc, on_estimate, confirm)
            embed(client, target, progress, is_canceled, on_job, poll_s)
            if is_canceled is not None and is_canceled():
                raise JobCancelled("") from None
    if progress is not None:
        progress(100.0)
    return answer


def missing_store(client: BackendClient, params: EmbedParams, refusal: BackendError,
                  on_estimate: OnEstimate | None = None, confirm: Confirm | None = None) -> EmbedParams:
    """What to embed after the backend's 409 ``refusal`` of ``params``' query, its cost checked (see check_cost):
    the query's raster, or, when that one is embedded already (a change's BEFORE), the raster the 409 names
    (AFTER, or the warped view of AFTER on BEFORE's grid that the backend made in its cache)."""
    if params.endpoint != "change":
        check_cost(client, params, on_estimate, confirm)
        return params
    estimate = client.estimate(**params.embed_request())
    named = refusal.body.get("raster")
    if estimate.get("embedded") and named:
        target = replace(params, raster=named)
        check_cost(client, target, on_estimate, confirm)
        return target
    if getattr(params, "after", None):  # the user is asked once, about both dates
        estimate = both_dates(estimate, client.estimate(**replace(params, raster=params.after).embed_request()))
    if on_estimate is not None:
        on_estimate(estimate)
    if confirm is not None and not confirm(estimate):
        raise NeedsConfirmation(estimate)
    return params


def both_dates(before: dict, after: dict) -> dict:
    """One estimate for embedding a change's two dates: tiles, seconds and disk added up, both lines in the summary
    (AFTER's as it is on disk: on BEFORE's grid, where the backend embeds it, it is about the same)."""
    if after.get("embedded"):
        return before
    out = dict(before)
    for key in ("tiles", "seconds", "disk_bytes"):
        out[key] = (before.get(key) or 0) + (after.get(key) or 0)
    out["summary"] = tr("{0} (before) and {1} (after)").format(before.get("summary", ""), after.get("summary", ""))
    return out


def run_to_gpkg(client: BackendClient, params: EmbedParams, remote: bool, progress: Progress | None = None,
                is_canceled: IsCanceled | None = None, on_job: Callable[[str], None] | None = None,
                poll_s: float = POLL_S, on_estimate: OnEstimate | None = None, confirm: Confirm | None = None) -> dict:
    """``run_job``, with the result always in the local GeoPackage ``params.output``: a local backend
    writes it itself; a remote one (its files are on another machine) answers GeoJSON, written here."""
    if not remote or params.endpoint == "embed" or not getattr(params, "output", None):
        return run_job(client, params, progress, is_canceled, on_job, poll_s, on_estimate, confirm)
    local = params.output
    changes = {"output": None}
    if hasattr(params, "include_surface"):
        changes["include_surface"] = True
    answer = run_job(client, replace(params, **changes), progress, is_canceled, on_job, poll_s, on_estimate, confirm)
    from .result_layers import write_geojson_gpkg

    write_geojson_gpkg(answer.get("layers") or {}, answer.get("crs_wkt"), local)
    answer["output"] = str(local)
    # A large store answers its similarity surface as a GeoTIFF (base64) instead of polygons: written beside
    # the GeoPackage, it is shown as the query's heatmap, as a local backend's --heatmap file is.
    for raster in (answer.get("rasters") or {}).values():
        tif = Path(local).with_suffix(".tif")
        tif.write_bytes(base64.b64decode(raster["data"]))
        answer["raster"] = str(tif)
    return answer


def set_raster_output(params: EmbedParams) -> None:
    """Ask a local backend for the query's heatmap or class raster beside its GeoPackage (same name, .tif),
    unless one was named already."""
    field_name = RASTER_OUTPUTS.get(params.endpoint, ("", ""))[0]
    output = getattr(params, "output", None)
    if field_name and output and not getattr(params, field_name):
        setattr(params, field_name, str(Path(output).with_suffix(".tif")))


def report(message: str, level, iface=None) -> None:
    """One line to the message log always, and to the message bar when there is a GUI."""
    QgsMessageLog.logMessage(message, LOG_TAG, level)
    if iface is not None:
        try:
            iface.messageBar().pushMessage(LOG_TAG, message, level=level, duration=10)
        except Exception:  # noqa: BLE001 - a missing bar must not hide the message
            pass


def report_error(message: str, iface=None) -> None:
    report(message, Qgis.MessageLevel.Critical, iface)


def ask_to_embed(estimate: dict, iface=None) -> bool:
    """Main thread: show the estimate and ask whether to start embedding (Yes / Cancel)."""
    from qgis.PyQt.QtWidgets import QMessageBox

    parent = iface.mainWindow() if iface is not None else None
    text = tr("Embedding this raster with {0} will take {1}.\n\nIt runs in the background and can be "
              "cancelled from the task manager; later searches of this raster are instant. Start now?").format(
        estimate.get("model", ""), estimate.get("summary", ""))
    answer = QMessageBox.question(parent, tr("RemoteCLIP: embed raster"), text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


@dataclass(frozen=True)
class Done:
    """The job ran: ``answer`` is the backend's (for "embed", the finished job's status); ``layers``
    are the result layers ``finished`` added to the project."""

    answer: dict
    layers: list = field(default_factory=list)


@dataclass(frozen=True)
class Failed:
    """The job failed: ``reason`` is one line (the backend's ``{"error"}`` text, or what went wrong here);
    ``env_missing``: the backend's Python is missing or incomplete (the plugin offers to make it)."""

    reason: str
    env_missing: bool = False


@dataclass(frozen=True)
class Cancelled:
    """The user cancelled (the task, or the question before a long embedding)."""


@dataclass(frozen=True)
class Unconfirmed:
    """Embedding would take longer than the user agreed to wait without being asked: ``estimate`` is the
    backend's answer to POST /estimate; ``finished`` asks and, on yes, starts a confirmed copy."""

    estimate: dict


TaskResult = Done | Failed | Cancelled | Unconfirmed


def store_request(params: EmbedParams) -> str:
    """The embedding a job needs, as a comparable text (its POST /embed body): equal texts, one store."""
    return json.dumps(params.embed_request(), sort_keys=True)


OUTPUT_FIELDS = ("output", "heatmap", "class_raster")


def query_request(params: EmbedParams) -> str:
    """The whole job as a comparable text, its output files left out: equal texts, the same answer."""
    body = {k: v for k, v in params.request().items() if k not in OUTPUT_FIELDS}
    return json.dumps([params.endpoint, body], sort_keys=True)


def task_name(params: EmbedParams, layer_name: str) -> str:
    """What a task is called in the task manager and in its messages: the job, its query and the layer, e.g.
    "RemoteCLIP: search 'storage tanks' on oils"."""
    title = params.title()
    kinds = {"embed": tr("embed"), "search": tr("search"), "classify": tr("classify"), "count": tr("count"),
             "similar": tr("tiles similar to")}
    kind = kinds.get(params.endpoint, params.endpoint)
    if params.endpoint == "change":  # its title names both layers
        return tr("RemoteCLIP: {0}").format(title)
    if params.endpoint == "fewshot":
        return tr("RemoteCLIP: {0} on {1}").format(title, layer_name)
    if params.endpoint == "embed" or not title:
        return tr("RemoteCLIP: {0} {1}").format(kind, layer_name)
    return tr("RemoteCLIP: {0} '{1}' on {2}").format(kind, title, layer_name)


class RemoteClipTask(QgsTask):
    """Embed (when needed) and run one query in a worker thread; add the result layers on the main thread.

    ``render``: a layer the backend cannot read (web, tile, virtual) is rendered through QGIS and sent
    first; with a remote backend a local file is sent too (see raster_source.backend_raster). Before
    embedding, the backend's estimate is logged and shown in the task's description; when it is over
    ``settings.confirm_above_s`` seconds and the task is not ``confirmed``, the task ends ``Unconfirmed``
    and ``finished`` asks the user (``ask``): yes starts ``follow_up``, a confirmed copy of this task.

    ``outcome`` is the task's TaskResult (None while it runs). ``on_finished(task)`` is called on the
    main thread once ``finished`` has acted on it (or when a ``follow_up`` took over).
    """

    ask = staticmethod(ask_to_embed)  # replaced in tests: the only dialog a task opens

    def __init__(self, params: EmbedParams, manager=None, iface=None, add_layers: bool = True,
                 on_finished: Callable[[RemoteClipTask], None] | None = None, render=None,
                 confirmed: bool = False, layer_name: str = "") -> None:
        title = params.title()
        name = layer_name or (render.name if render is not None else Path(params.raster).stem)
        self.name_of_layer = name
        self.name = task_name(params, name)
        super().__init__(self.name, QgsTask.Flag.CanCancel)
        self.params = params
        self.store_key = store_request(params)  # before the raster becomes the backend's name for it
        self.query_key = query_request(params)
        self.manager = manager
        self.iface = iface
        self.add_layers = add_layers
        self.on_finished = on_finished
        self.render = render
        self.confirmed = confirmed
        self.job_id: str | None = None
        self.estimate: dict | None = None  # the backend's answer to POST /estimate, once asked
        self.outcome: TaskResult | None = None
        self.follow_up: RemoteClipTask | None = None
        self.restarted: str | None = None  # set when the backend was found dead and restarted for this task
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
                                     LOG_TAG, Qgis.MessageLevel.Info)
            self.setDescription(tr("{0} (embedding: {1})").format(self.name, estimate.get("summary")))

    def _confirm(self, estimate: dict) -> bool:
        limit = getattr(self.manager.settings, "confirm_above_s", 0) if self.manager is not None else 0
        return self.confirmed or limit <= 0 or float(estimate.get("seconds", 0)) <= limit

    def run(self) -> bool:
        """The job, in a worker thread. A cancel returns True too: QGIS says "Task failed" for a task whose
        run() is false, and a cancel is no failure (``finished`` says "cancelled")."""
        self.outcome = self._run()
        if isinstance(self.outcome, Cancelled) or self.isCanceled():
            self.setDescription(tr("{0}: cancelled").format(self.name))
            return True
        return isinstance(self.outcome, Done)

    def _run(self) -> TaskResult:
        try:
            if self.manager is None:
                from .backend_process import get_manager

                self.manager = get_manager()
            restarts = self.manager.restarts
            client = self.manager.client()
            if self.manager.restarts > restarts:
                self.restarted = self.manager.last_death
            from .raster_source import backend_raster

            self.setProgress(1.0)
            self.params.raster = backend_raster(client, self.params.raster, self.render,
                                                remote=not self.manager.is_local())
            if getattr(self.params, "after", None):  # a change's later date goes the same way
                self.params.after = backend_raster(client, self.params.after, self.params.after_render,
                                                   remote=not self.manager.is_local())
                self.params.after_render = None
            if self.manager.is_local():
                # Only a local backend: a remote one would write the raster on its own machine, where QGIS
                # cannot open it, so there the map keeps the tile polygons of the GeoJSON answer.
                set_raster_output(self.params)
            return Done(run_to_gpkg(client, self.params, remote=not self.manager.is_local(),
                                    progress=self.setProgress, is_canceled=self.isCanceled, on_job=self._set_job,
                                    on_estimate=self._on_estimate, confirm=self._confirm))
        except NeedsConfirmation as exc:
            return Unconfirmed(exc.estimate)
        except JobCancelled:
            return Cancelled()
        except BackendError as exc:
            return Failed(str(exc), env_missing=isinstance(exc, BackendEnvMissing))
        except Exception as exc:  # noqa: BLE001 - a bug: one line to the user, the trace to the log
            from .raster_source import RasterSourceError

            if isinstance(exc, RasterSourceError):
                return Failed(str(exc))
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.MessageLevel.Critical)
            return Failed(f"{type(exc).__name__}: {exc}".splitlines()[0])

    def _ask_and_follow_up(self, outcome: Unconfirmed) -> TaskResult:
        """Main thread: show the estimate; on yes, start a confirmed copy of this task (``outcome`` stays:
        the copy has its own), on no the task ends Cancelled."""
        if not self.ask(outcome.estimate, self.iface):
            QgsMessageLog.logMessage(tr("Not embedded: {0}").format(outcome.estimate.get("summary")), LOG_TAG,
                                     Qgis.MessageLevel.Info)
            return Cancelled()
        from qgis.core import QgsApplication

        follow = RemoteClipTask(self.params, manager=self.manager, iface=self.iface, add_layers=self.add_layers,
                                on_finished=self.on_finished, render=None, confirmed=True,
                                layer_name=self.name_of_layer)
        follow.store_key, follow.query_key = self.store_key, self.query_key  # its raster is the backend's name now
        self.follow_up = follow
        QgsApplication.taskManager().addTask(follow)
        return outcome

    def finished(self, result: bool) -> None:  # main thread; ``result`` is run()'s, self.outcome says more
        if self.restarted:  # say so: a crash (out of memory, killed) must not pass unnoticed
            report(self.restarted, Qgis.MessageLevel.Warning, self.iface)
        outcome = self.outcome
        if outcome is None or (not isinstance(outcome, Done) and self.isCanceled()):
            outcome = Cancelled()  # cancelled before run() began, or a failure caused by the cancel
        try:
            if isinstance(outcome, Done):
                output = outcome.answer.get("output") or getattr(self.params, "output", None)
                if self.add_layers and self.params.endpoint != "embed" and output:
                    from .result_layers import add_result

                    layers = add_result(output, self.params.endpoint, self.params.title(),
                                        raster=outcome.answer.get("raster"), params=self.params)
                    outcome = replace(outcome, layers=layers)
                from .settings import fallback_note

                note = fallback_note(output) if output else None  # an unsaved project: say where results went
                if note:
                    report(note, Qgis.MessageLevel.Info, self.iface)
            elif isinstance(outcome, Unconfirmed):
                outcome = self._ask_and_follow_up(outcome)
            elif isinstance(outcome, Cancelled):
                report(tr("{0}: cancelled").format(self.name), Qgis.MessageLevel.Info, self.iface)
            elif outcome.env_missing:  # the plugin offers to create the environment (on_finished)
                QgsMessageLog.logMessage(outcome.reason, LOG_TAG, Qgis.MessageLevel.Warning)
            else:
                report_error(outcome.reason or tr("The task failed"), self.iface)
        except Exception as exc:  # noqa: BLE001
            outcome = Failed(f"{type(exc).__name__}: {exc}".splitlines()[0])
            report_error(outcome.reason, self.iface)
        self.outcome = outcome
        if self.on_finished is not None:
            self.on_finished(self)
