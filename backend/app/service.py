"""The loopback HTTP service the QGIS plugin drives (FastAPI on uvicorn).

Bound to 127.0.0.1 by default on a free port; a random bearer token guards every route but
``/health``. Port, token and pid go to a state file only the user can read. Embedding runs as a
background job with progress and cancel; queries over an existing store answer synchronously.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import ConflictError, JobCancelled, NotFoundError, UserError
from ..raster.uploads import max_upload_bytes

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
MAX_BODY_BYTES = 1_000_000
DRAIN_BYTES = 64_000_000  # a chunked body past the limit is read and dropped up to this, then cut off


def default_state_file() -> Path:
    """``$XDG_STATE_HOME/remoteclip-qgis/backend.json`` (``~/.local/state`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "remoteclip-qgis" / "backend.json"


# ---------------------------------------------------------------- request and response bodies


class RasterRequest(BaseModel):
    """A raster and how to embed it; the same fields address the same cached store."""

    raster: str = Field(..., description="path of a raster file on the backend's machine")
    model: str | None = Field(None, description="model name from GET /models (default: the best one present)")
    weights: str | None = Field(None, description="checkpoint file instead of the registry's")
    tile_size: int | None = Field(None, description="tile side in raster pixels (default: model input size)")
    ground_size_m: float | None = Field(None, description="tile side on the ground in metres")
    gsd: float | None = Field(None, description="metres per model-input pixel")
    overlap: float = Field(0.0, description="fraction of a tile shared with its neighbour, 0 to 0.9")
    bands: list[int] | None = Field(None, description="1 or 3 band numbers used as R, G, B")
    min_valid: float = Field(0.01, description="skip tiles with a smaller valid fraction")
    batch_size: int = Field(32, ge=1, le=4096)
    precision: Literal["exact", "int8"] = Field(
        "exact", description="int8: the CPU fast path (about 1.6x faster, cosine 0.9997 to exact); its stores are "
                             "separate from exact ones")


class SearchRequest(RasterRequest):
    queries: list[str] = Field(..., description="one or more phrases; their embeddings are averaged")
    k: int = 10
    output: str | None = Field(None, description="GeoPackage to write the layers to")
    include_surface: bool = Field(True, description="return the per-tile similarity surface")


class ClassifyRequest(RasterRequest):
    classes: list[str]
    output: str | None = None


class CountRequest(RasterRequest):
    object: str
    output: str | None = None


class SimilarRequest(RasterRequest):
    x: float | None = Field(None, description="example point X in the raster's CRS")
    y: float | None = Field(None, description="example point Y in the raster's CRS")
    tile_id: int | None = Field(None, description="example tile id instead of a point")
    k: int = 10
    output: str | None = None
    include_surface: bool = True


class ErrorBody(BaseModel):
    """Every refusal: one line saying what was wrong and what to do."""

    error: str


# Declared on every route so the OpenAPI schema tells clients (and schemathesis) what a refusal looks
# like; 422 replaces FastAPI's default body (a list of details) with the same one-line form.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "bad input"), (401, "missing or wrong bearer token"), (403, "Host header not allowed"),
        (404, "raster, upload, model or job not found"), (405, "method not allowed"), (409, "not embedded yet"),
        (413, "request body too large"), (422, "request does not match the schema"),
        (500, "internal error (its kind only)"), (507, "not enough disk for the store"),
    )
}


def _validation_line(exc) -> str:
    """FastAPI's validation errors as one line: ``body.k: Input should be a valid integer; ...``."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (and {len(exc.errors()) - 3} more)" if len(exc.errors()) > 3 else ""
    return ("invalid request: " + "; ".join(parts) + more).replace("\n", " ")


class QueryAnswer(BaseModel):
    """The answer of /search, /classify, /count and /similar: result layers as GeoJSON in the raster's CRS."""

    model: str
    weights: str
    store: str = Field(..., description="key of the embedding store that was queried")
    n_tiles: int
    crs_wkt: str | None = Field(..., description="the raster's CRS (null: pixel coordinates)")
    output: str | None = Field(..., description="GeoPackage written, if one was asked for")
    summary: dict
    layers: dict[str, dict] = Field(..., description="layer name -> GeoJSON FeatureCollection")


class ModelInfo(BaseModel):
    name: str
    arch: str
    source: str
    description: str
    present: bool
    where: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class JobStatus(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    done: int
    total: int
    error: str | None = None
    result: dict | None = None
    created: float
    finished: float | None = None


class EstimateAnswer(BaseModel):
    raster: str
    model: str
    embedded: bool = Field(..., description="a store for this raster, model and tiling exists: no embedding needed")
    tiles: int = Field(..., description="tiles in the grid (an upper bound: empty tiles are skipped)")
    seconds: float = Field(..., description="expected embedding time on this backend's device, seconds")
    disk_bytes: int = Field(..., description="size of the store on disk, bytes")
    rate_tiles_per_s: float
    rate_source: str
    device: str
    summary: str = Field(..., description="the estimate as one line for people")
    disk_problem: str | None = Field(None, description="why POST /embed would be refused for disk (HTTP 507), "
                                                       "or null when the store fits")


# ---------------------------------------------------------------- jobs


@dataclass
class Job:
    id: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    key: str | None = None  # the store an embed job writes: a second request for it joins this job

    def status(self) -> JobStatus:
        return JobStatus(id=self.id, kind=self.kind, state=self.state, done=self.done, total=self.total,
                         error=self.error, result=self.result, created=self.created, finished=self.finished)


class Jobs:
    """Background jobs, run one at a time (they saturate the device anyway)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._lock = threading.Lock()

    def submit(self, kind: str, work, key: str | None = None) -> Job:
        """Queue ``work``; when a queued or running job already has ``key``, return that job instead
        (two searches of one raster started together embed it once)."""
        with self._lock:
            if key is not None:
                for other in self._jobs.values():
                    if other.key == key and other.state in ("queued", "running") and not other.cancel.is_set():
                        return other
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, key=key)
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work) -> None:
        if job.cancel.is_set():
            job.state, job.finished = "cancelled", time.time()
            return
        job.state = "running"
        try:
            job.result = work(job)
            job.state = "done"
        except JobCancelled:
            job.state = "cancelled"
        except UserError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug or a device failure: report its kind, never a traceback
            job.state, job.error = "failed", f"internal error ({type(exc).__name__}): {exc}".splitlines()[0]
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job '{job_id}'")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        for job in self.all():
            job.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- the app


def _tiling(req: RasterRequest):
    from ..raster.reader import TilingParams

    bands = tuple(req.bands) if req.bands else None
    if bands is not None and len(bands) not in (1, 3):
        raise UserError(f"bands must name 1 or 3 bands, got {len(bands)}")
    return TilingParams(tile_px=req.tile_size, ground_m=req.ground_size_m, gsd=req.gsd, overlap=req.overlap,
                        bands=bands, min_valid=req.min_valid)


def _host_allowed(host_header: str | None, bound_host: str) -> bool:
    """Only loopback names (and the address we are bound to) may appear in Host: stops DNS rebinding."""
    if not host_header:
        return False
    host = host_header.rsplit(":", 1)[0] if not host_header.startswith("[") else host_header.split("]")[0] + "]"
    if host in LOOPBACK_NAMES or host == bound_host or f"[{bound_host}]" == host:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BodyLimit:
    """ASGI middleware: a request body without Content-Length (chunked) is counted while it arrives and
    refused with 413 past ``MAX_BODY_BYTES``; the Content-Length check in ``guard`` only sees declared
    sizes. Uploads are skipped: ``UploadWriter`` streams them to disk under their own limit."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/uploads/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if b"content-length" in headers:  # declared: guard answers 413 before anything is read
            await self.app(scope, receive, send)
            return
        # Read the whole (small, JSON) body first, so nothing reaches a route past the limit.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size <= MAX_BODY_BYTES:
                chunks.append(message.get("body", b""))
            else:
                chunks.clear()  # keep reading (and dropping) so the client hears the 413, not a reset
            if not message.get("more_body", False) or size > DRAIN_BYTES:
                break
        if size > MAX_BODY_BYTES:
            response = JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413,
                                    headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(token: str, device: str | None = None, bound_host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI application; ``token`` is the bearer token every route but /health requires."""
    app = FastAPI(title="RemoteCLIP backend", version=__version__, responses=ERROR_RESPONSES,
                  description="Text search, zero-shot classification and counting over raster tiles.")
    jobs = Jobs()
    app.state.jobs = jobs
    app.add_middleware(BodyLimit)
    expected = f"Bearer {token}".encode()

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if not _host_allowed(request.headers.get("host"), bound_host):
            return JSONResponse({"error": "Host header not allowed: use 127.0.0.1 or localhost"}, status_code=403)
        length = request.headers.get("content-length")
        # uploads stream to disk under their own, larger limit (checked while receiving)
        limit = max_upload_bytes() if request.url.path.startswith("/uploads/") else MAX_BODY_BYTES
        if length is not None and length.isdigit() and int(length) > limit:
            return JSONResponse({"error": f"request body over {limit} bytes"}, status_code=413)
        if request.url.path != "/health":
            given = request.headers.get("authorization", "").encode()
            if not secrets.compare_digest(given, expected):
                return JSONResponse({"error": "missing or wrong bearer token (see the backend's state file)"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        # Starlette's own refusals (unknown path, wrong method, a body that is not JSON) in the same
        # one-line form as ours, instead of {"detail": ...}
        detail = str(exc.detail).splitlines()[0] if exc.detail else "request refused"
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_line(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception):
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    @app.on_event("shutdown")
    def stop_jobs() -> None:
        jobs.shutdown()

    def model_for(req: RasterRequest):
        from ..models.factory import get_model
        from ..models.registry import require_model_name

        return get_model(require_model_name(req.model), weights=req.weights, device=device, precision=req.precision)

    def plan_for(req: RasterRequest, model):
        from ..embedding.pipeline import plan_embedding
        from ..raster.uploads import resolve_raster

        return plan_embedding(resolve_raster(req.raster), model.identity, model.spec.name, model.image_size,
                              _tiling(req))

    def store_for(req: RasterRequest):
        from ..embedding.pipeline import cached_store

        model = model_for(req)
        plan = plan_for(req, model)
        store = cached_store(plan)
        if store is None:
            raise ConflictError(
                f"{plan.info.path} is not embedded yet with {model.spec.name} and this tiling: POST /embed first"
            )
        return model, store

    def answer(model, store, layers, output: str | None, summary: dict, include: set[str]) -> dict:
        written = None
        if output:
            from ..query.vector_layer import write_gpkg

            written = str(write_gpkg(output, layers, store.crs_wkt))
        return {
            "model": model.spec.name, "weights": str(model.weights_path), "store": store.key,
            "n_tiles": store.n_tiles, "crs_wkt": store.crs_wkt, "output": written, "summary": summary,
            "layers": {layer.name: layer.geojson(store.crs_wkt) for layer in layers if layer.name in include},
        }

    @app.get("/health")
    def health() -> Health:
        """Liveness: open to all, reveals nothing but the version."""
        return {"status": "ok", "version": __version__}

    @app.get("/models")
    def models() -> list[ModelInfo]:
        from ..models.registry import list_models, weights_status

        out = []
        for spec in list_models():
            st = weights_status(spec)
            out.append({"name": spec.name, "arch": spec.arch, "source": spec.source,
                        "description": spec.description, "present": st.present, "where": st.where})
        return out

    @app.post("/embed", status_code=202)
    def embed(req: RasterRequest) -> JobStatus:
        """Start embedding a raster (a background job); returns at once with the job's id."""
        from ..embedding.cost_model import check_disk_budget, record_job
        from ..embedding.pipeline import cached_store, embed_raster

        model = model_for(req)
        plan = plan_for(req, model)
        if cached_store(plan) is None:  # refuse a store that cannot fit before the job starts (HTTP 507)
            check_disk_budget(plan.grid.n_tiles, model.embed_dim, plan.info.path)

        def work(job: Job) -> dict:
            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total

            fresh = cached_store(plan) is None
            started = time.perf_counter()
            store = embed_raster(plan, model, batch_size=req.batch_size, progress=progress,
                                 cancelled=job.cancel.is_set)
            if fresh:  # the end-to-end rate is what later estimates on this device use
                record_job(model, plan.grid.n_tiles, time.perf_counter() - started)
            return {"store": store.key, "n_tiles": store.n_tiles, "raster": plan.info.path,
                    "tile_px": plan.grid.tile_px, "bands": list(plan.bands.bands)}

        job = jobs.submit("embed", work, key=plan.key)
        if job.total == 0:
            job.total = plan.grid.n_tiles
        return job.status()

    @app.post("/estimate")
    def estimate(req: RasterRequest) -> EstimateAnswer:
        """Tiles, time and disk that embedding this raster will cost, before starting it."""
        from ..embedding.cost_model import check_disk_budget
        from ..embedding.cost_model import estimate as estimate_cost
        from ..embedding.pipeline import cached_store
        from ..errors import InsufficientStorageError

        model = model_for(req)
        plan = plan_for(req, model)
        cost = estimate_cost(plan.grid.n_tiles, model, req.batch_size)
        embedded = cached_store(plan) is not None
        disk_problem = None
        if not embedded:  # said here too, so a client can tell the user before asking to embed
            try:
                check_disk_budget(plan.grid.n_tiles, model.embed_dim, plan.info.path)
            except InsufficientStorageError as exc:
                disk_problem = str(exc)
        return EstimateAnswer(raster=req.raster, model=model.spec.name, embedded=embedded,
                              summary=cost.line(), disk_problem=disk_problem, **cost.to_dict())

    @app.get("/uploads/{digest}")
    def get_upload(digest: str) -> dict:
        """Whether the backend holds the raster with this SHA-256 (so a client need not send it again)."""
        from ..raster.uploads import describe_upload

        return describe_upload(digest)

    @app.put("/uploads/{digest}", status_code=201)
    async def put_upload(digest: str, request: Request) -> dict:
        """Receive a rendered raster (a GeoTIFF as the raw body, named by its SHA-256); use the answer's
        ``raster`` ("upload:<sha256>") in later requests."""
        import asyncio

        from ..raster.uploads import UploadWriter, check_digest

        digest = check_digest(digest)
        writer = UploadWriter()
        try:
            async for chunk in request.stream():
                writer.write(chunk)  # refuses a body past the limit, with or without Content-Length
            # hashing is done; GDAL's check and the rename run off the event loop
            return await asyncio.to_thread(writer.finish, digest)
        except BaseException:
            writer.abort()
            raise

    @app.get("/jobs")
    def list_jobs() -> list[JobStatus]:
        return [job.status() for job in jobs.all()]

    @app.get("/jobs/{job_id}")
    def job_status(job_id: str) -> JobStatus:
        return jobs.get(job_id).status()

    @app.post("/jobs/{job_id}/cancel")
    def cancel_job(job_id: str) -> JobStatus:
        job = jobs.get(job_id)
        job.cancel.set()
        return job.status()

    @app.post("/search")
    def search(req: SearchRequest) -> QueryAnswer:
        from ..query.hit_selection import check_k
        from ..query.text_search import text_search

        check_k(req.k)
        model, store = store_for(req)
        ranked, layers = text_search(store, model, req.queries, k=req.k, templates=model.spec.prompt_templates)
        include = {"hits", "similarity"} if req.include_surface else {"hits"}
        return answer(model, store, layers, req.output, {"best_score": float(ranked.scores.max())}, include)

    @app.post("/classify")
    def classify(req: ClassifyRequest) -> QueryAnswer:
        from ..query.zero_shot import zero_shot

        model, store = store_for(req)
        result, layers = zero_shot(store, model, req.classes, templates=model.spec.prompt_templates)
        return answer(model, store, layers, req.output, {"class_shares": result.class_shares()}, {"classes"})

    @app.post("/count")
    def count(req: CountRequest) -> QueryAnswer:
        from ..query.counting import count_objects

        model, store = store_for(req)
        result, layers = count_objects(store, model, req.object)
        return answer(model, store, layers, req.output, {"total_expected": result.total_expected}, {"counts"})

    @app.post("/similar")
    def similar(req: SimilarRequest) -> QueryAnswer:
        from ..query.hit_selection import check_k
        from ..query.similar_tiles import example_point, similar_tiles

        check_k(req.k)
        point = example_point(req.x, req.y)
        model, store = store_for(req)
        example, _, layers = similar_tiles(store, k=req.k, tile_id=req.tile_id, point=point)
        include = {"similar", "similarity"} if req.include_surface else {"similar"}
        return answer(model, store, layers, req.output, {"example_tile": example}, include)

    return app


# ---------------------------------------------------------------- running it


def write_state_file(path: Path, state: dict) -> None:
    """Write the state JSON atomically with mode 0600 (it holds the token)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".backend.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one chosen by the OS)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port or 0") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_parent(pid: int, interval_s: float = 1.0) -> threading.Thread:
    """Stop this service (SIGTERM to itself) once process ``pid`` is gone: the backend never outlives
    the QGIS that started it, even when QGIS is killed or exits without unloading the plugin."""

    def watch() -> None:
        while pid_alive(pid):
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def serve(host: str = "127.0.0.1", port: int = 0, state_file: str | None = None, device: str | None = None,
          parent_pid: int | None = None) -> int:
    """Run the service until interrupted (or until ``parent_pid`` exits); the state file exists exactly
    while it serves."""
    import uvicorn

    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = host == "localhost"
    if not is_loopback:
        print(f"warning: listening on {host}, reachable from other machines; every request still needs the token",
              file=sys.stderr)
    if parent_pid is not None and not pid_alive(parent_pid):
        raise UserError(f"--parent-pid {parent_pid} is not a running process")
    token = secrets.token_urlsafe(32)
    sock = bind_socket(host, port)
    actual_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    state_path = Path(state_file) if state_file else default_state_file()
    state = {"url": f"http://{url_host}:{actual_port}", "token": token, "pid": os.getpid(), "host": host,
             "port": actual_port, "version": __version__, "started": time.time()}
    app = create_app(token, device=device, bound_host=host)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler found at start:
    # make that handler an exit, so the state file below is removed rather than the process killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    write_state_file(state_path, state)
    if parent_pid is not None:
        watch_parent(parent_pid)
    print(f"serving on {state['url']} (state file: {state_path})", file=sys.stderr)
    try:
        server.run(sockets=[sock])
    finally:
        try:
            if json.loads(state_path.read_text()).get("pid") == os.getpid():
                state_path.unlink()
        except (OSError, ValueError):
            pass
    return 0
