"""Catalogues of rasters in the plugin: search one as a whole, add a layer's raster to one, re-embed a raster that
changed on disk.

A catalogue lives in the backend (``backend/query/catalog.py``): many rasters behind one index, made by the CLI
(``catalog add``) or here (``POST /catalogs/{name}/rasters``). ``CatalogSearchTask`` asks ``POST /catalog/search``
and adds ONE layer with the hits of every raster (EPSG:4326, each hit naming its raster; QGIS shows it in the
project's CRS); a 409 names a raster that changed since it was embedded and ends the task ``Stale``, which the
plugin offers to embed again (``CatalogAddTask`` with that raster) before searching again. ``CatalogAddTask`` sends
a layer's raster (its path to a local backend; uploaded to a remote one, ``raster_source.backend_raster``) and
polls the backend's job (progress over the tiles it embeds, cancel).
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask

from .backend_client import BackendError
from .i18n import tr
from .jobs import LOG_TAG, Cancelled, Done, Failed, JobCancelled, follow_job, report, report_error
from .params import CatalogAddParams, CatalogSearchParams, EmbedParams

CATALOG_LAYER = "catalog_hits"  # the backend's layer name (backend/query/catalog.py: hit_layer)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # the backend's rule for a catalogue's name


def check_catalog_name(name: str) -> str:
    """``name`` stripped, or ValueError with the line for the user (the backend's rule, said before a request)."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValueError(tr("A catalogue's name is 1 to 64 letters, digits, '_', '.' or '-', beginning with a letter "
                            "or digit: '{0}' is not").format(name))
    return name


def fetch_catalogs(manager, start: bool = False) -> list[dict]:
    """``GET /catalogs`` (name, model, rasters, embedded). Without ``start`` only from a backend already up ([]
    otherwise, and when it does not answer); with it a local backend is started and BackendError raised."""
    client = manager.client() if start else manager.live_client()
    if client is None:
        return []
    try:
        return list(client.catalogs())
    except BackendError:
        if start:
            raise
        return []




@dataclass(frozen=True)
class Stale:
    """The search answered 409: ``raster`` (a path on the backend's machine) changed since it was embedded."""

    raster: str
    reason: str


def _manager(manager):
    if manager is not None:
        return manager
    from .backend_process import get_manager

    return get_manager()


def _failure(exc: Exception) -> Failed:
    from .raster_source import RasterSourceError

    if isinstance(exc, (BackendError, RasterSourceError)):
        return Failed(str(exc))
    QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.MessageLevel.Critical)
    return Failed(f"{type(exc).__name__}: {exc}".splitlines()[0])


class _CatalogTask(QgsTask):
    """What the plugin's task bookkeeping reads of every task (``jobs.RemoteClipTask`` has the same)."""

    store_key = ""
    query_key = ""
    confirmed = False
    job_id: str | None = None
    follow_up = None

    def __init__(self, name: str, manager, iface, on_finished) -> None:
        super().__init__(name, QgsTask.Flag.CanCancel)
        self.name = name
        self.manager = manager
        self.iface = iface
        self.on_finished = on_finished
        self.outcome = None

    def run(self) -> bool:  # worker thread; a cancel is no failure (``finished`` says "cancelled")
        self.outcome = self._run()
        return isinstance(self.outcome, (Done, Cancelled, Stale)) or self.isCanceled()

    def _run(self):
        raise NotImplementedError

    def finished(self, result: bool) -> None:  # main thread
        outcome = self.outcome
        if outcome is None or (not isinstance(outcome, Done) and self.isCanceled()):
            outcome = Cancelled()
        try:
            outcome = self._finish(outcome)
        except Exception as exc:  # noqa: BLE001 - one line to the user
            outcome = Failed(f"{type(exc).__name__}: {exc}".splitlines()[0])
        if isinstance(outcome, Cancelled):
            report(tr("{0}: cancelled").format(self.name), Qgis.MessageLevel.Info, self.iface)
        elif isinstance(outcome, Failed):
            report_error(outcome.reason or tr("The task failed"), self.iface)
        self.outcome = outcome
        if self.on_finished is not None:
            self.on_finished(self)

    def _finish(self, outcome):
        return outcome


class CatalogAddTask(_CatalogTask):
    """Add rasters to catalogue ``catalog`` (made when new, with ``params``' model and tiling): ``sources`` are
    (raster path or label, RenderSpec or None) as ``raster_source.raster_input`` gives them, sent as the backend
    needs them; ``backend_rasters`` are names the backend knows already (a raster its 409 named)."""

    def __init__(self, catalog: str, params: EmbedParams, sources: list[tuple[str, object]] = (),
                 backend_rasters: list[str] = (), manager=None, iface=None, on_finished=None,
                 layer_names: list[str] = ()) -> None:
        names = list(layer_names) or [Path(r).name for r in backend_rasters] or [Path(s[0]).name for s in sources]
        super().__init__(tr("RemoteCLIP: add {0} to catalogue {1}").format(", ".join(names), catalog), manager,
                         iface, on_finished)
        self.catalog = catalog
        self.params = params
        self.sources = list(sources)
        self.backend_rasters = list(backend_rasters)

    def _run(self):
        from .raster_source import backend_raster

        try:
            self.manager = _manager(self.manager)
            client = self.manager.client()
            self.setProgress(1.0)
            remote = not self.manager.is_local()
            rasters = [backend_raster(client, raster, render, remote=remote) for raster, render in self.sources]
            body = CatalogAddParams.from_embed(self.params, rasters + self.backend_rasters).request()
            job = client.catalog_add(self.catalog, **body)
            self.job_id = job["id"]
            job = follow_job(client, job, self.setProgress, self.isCanceled, share=99.0,
                             failed=tr("The catalogue could not be updated"))
            self.setProgress(100.0)
            return Done(job)
        except JobCancelled:
            return Cancelled()
        except Exception as exc:  # noqa: BLE001
            return _failure(exc)

    def _finish(self, outcome):
        if isinstance(outcome, Done):
            result = outcome.answer.get("result") or {}
            report(tr("Catalogue {0}: {1} rasters, {2} embedded").format(
                self.catalog, result.get("rasters", "?"), result.get("embedded", "?")), Qgis.MessageLevel.Success,
                self.iface)
        return outcome


def ask_to_reembed(raster: str, catalog: str, iface=None) -> bool:
    """Main thread: say which raster changed and ask whether to embed it again now (Yes / Cancel)."""
    from qgis.PyQt.QtWidgets import QMessageBox

    text = tr("{0} changed on disk since it was embedded in catalogue {1}: its embeddings no longer stand for it.\n\n"
              "Embed it again now (in the background; cancel from the task manager), then search again?").format(
        raster, catalog)
    answer = QMessageBox.question(iface.mainWindow() if iface is not None else None,
                                  tr("RemoteCLIP: embed again"), text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


class CatalogSearchTask(_CatalogTask):
    """``POST /catalog/search``; the hits, one GeoPackage layer in EPSG:4326, are added to the project. Ends
    ``Stale`` on a 409 naming a raster (the plugin offers to embed it again)."""

    ask = staticmethod(ask_to_reembed)  # replaced in tests: the only dialog this flow opens

    def __init__(self, params: CatalogSearchParams, manager=None, iface=None, on_finished=None,
                 add_layers: bool = True) -> None:
        super().__init__(tr("RemoteCLIP: search {0}").format(params.title()), manager, iface, on_finished)
        self.params = params
        self.add_layers = add_layers
        self.manager = _manager(manager)
        if not params.output:
            from .result_layers import gpkg_path
            from .settings import output_folder

            params.output = str(gpkg_path(output_folder(self.manager.settings), "catalog", params.title()))

    def _run(self):
        from dataclasses import replace

        try:
            client = self.manager.client()
            self.setProgress(5.0)
            local = self.manager.is_local()
            body = (self.params if local else replace(self.params, output=None)).request()
            try:
                answer = client.catalog_search(**body)
            except BackendError as exc:
                if exc.status == 409 and exc.raster:
                    return Stale(exc.raster, str(exc))
                raise
            if not local:  # its files are on another machine: the GeoJSON, written here
                from .result_layers import write_geojson_gpkg

                write_geojson_gpkg(answer.get("layers") or {}, answer.get("crs_wkt"), self.params.output)
                answer["output"] = self.params.output
            self.setProgress(100.0)
            return Done(answer)
        except Exception as exc:  # noqa: BLE001
            return _failure(exc)

    def _finish(self, outcome):
        if isinstance(outcome, Done) and self.add_layers:
            from dataclasses import replace

            from .result_layers import add_catalog_result

            layers = add_catalog_result(outcome.answer.get("output") or self.params.output, self.params.title())
            if not layers:
                report(tr("{0}: no hits").format(self.params.title()), Qgis.MessageLevel.Info, self.iface)
            return replace(outcome, layers=layers)
        if isinstance(outcome, Stale):
            QgsMessageLog.logMessage(outcome.reason, LOG_TAG, Qgis.MessageLevel.Warning)
        return outcome
