"""The loopback HTTP service the QGIS plugin drives (FastAPI on uvicorn): the app, assembled.

Routes live in :mod:`backend.app.routes`, bodies in :mod:`backend.app.schemas`, the Host check, body limits
and bearer token in :mod:`backend.app.guards`, background jobs in :mod:`backend.app.job_queue`, running it
(state file, socket, parent watch) in :mod:`backend.app.serve`. Every refusal is one line,
``{"error": "..."}``, with the status of :data:`HTTP_STATUS`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import (
    CannotCountError,
    ConflictError,
    InsufficientStorageError,
    NotEmbeddedError,
    NotFoundError,
    TooLargeError,
    UserError,
    http_line,
)
from .bounds import REQUEST_BOUNDS
from .caches import open_stores_limit
from .guards import BodyLimit, LoopbackHosts, TokenCheck, refused_before_routing, unauthorized
from .job_queue import Jobs
from .orchestration import Workspace
from .routes import catalogs, embedding, health, models, queries, uploads
from .schemas import USER_ERROR, ErrorBody

# The HTTP status of each error, the most specific class of an error's MRO deciding (an error of none: 500).
HTTP_STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    TooLargeError: 413,
    CannotCountError: 422,  # not 409: the plugin answers 409 by embedding
    InsufficientStorageError: 507,
    UserError: 400,
}

# Declared on every route so the OpenAPI schema tells clients (and schemathesis) what a refusal looks
# like; 422 replaces FastAPI's default body (a list of details) with the same one-line form.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "bad input"), (401, "missing or wrong bearer token"), (403, "Host header not allowed"),
        (404, "raster, upload, model or job not found"), (405, "method not allowed"), (409, "not embedded yet"),
        (413, "request body too large"), (422, "request does not match the schema, or the model cannot count"),
        (500, "internal error (its kind only)"), (507, "not enough disk for the store"),
    )
}
# pydantic error types of a value outside a declared bound (answered with the bound's own line, HTTP 400)
BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than_equal", "finite_number", "too_short", "too_long"}


def http_status(exc: Exception) -> int:
    """The status of ``exc`` from :data:`HTTP_STATUS`, by the first of its classes found there."""
    return next((HTTP_STATUS[cls] for cls in type(exc).__mro__ if cls in HTTP_STATUS), 500)


def validation_answer(exc: RequestValidationError) -> tuple[int, str]:
    """(status, one line) for a body pydantic refused: 400 with the user's line when every problem is a check
    or a bound of ours (the same line the CLI prints), else 422 with pydantic's first three problems."""
    errors = exc.errors()
    lines = []
    for err in errors:
        loc = err.get("loc", ())
        if err.get("type") == USER_ERROR:
            lines.append(err["msg"])
        elif (err.get("type") in BOUND_ERRORS and len(loc) == 2 and loc[0] == "body" and loc[1] in REQUEST_BOUNDS
              and not (err["type"] == "finite_number" and REQUEST_BOUNDS[loc[1]].whole)):
            lines.append(REQUEST_BOUNDS[loc[1]].message(err.get("input")))
        else:
            break
    else:
        if lines:
            return 400, http_line(lines[0])
    parts = [f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, ("invalid request: " + "; ".join(parts) + more).replace("\n", " ")


async def user_error(_: Request, exc: UserError) -> JSONResponse:
    body = {"error": http_line(str(exc))}
    if isinstance(exc, NotEmbeddedError):  # which raster to POST /embed (a change request has two)
        body["raster"] = exc.raster
    return JSONResponse(body, status_code=http_status(exc))


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Starlette's own refusals (unknown path, wrong method) and the token check's 401 in the same one-line
    # form as ours, instead of {"detail": ...}
    if refused_before_routing(request, exc.status_code):
        exc = unauthorized()
    detail = str(exc.detail).splitlines()[0] if exc.detail else "request refused"
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    if refused_before_routing(request, 422):
        return await http_error(request, unauthorized())
    status, line = validation_answer(exc)
    return JSONResponse({"error": line}, status_code=status)


async def internal_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.jobs.shutdown()  # cancels queued and running jobs; nothing half-written is kept


def create_app(token: str, device: str | None = None, bound_host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI application; ``token`` is the bearer token every route but /health requires."""
    app = FastAPI(title="RemoteCLIP backend", version=__version__, responses=ERROR_RESPONSES,
                  description="Text search, zero-shot classification and counting over raster tiles.",
                  openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)  # served below, behind the token
    app.state.jobs = Jobs()
    app.state.workspace = Workspace(device, open_stores=open_stores_limit())
    app.add_middleware(BodyLimit)
    app.add_middleware(LoopbackHosts, bound_host=bound_host)  # added last: runs first
    for kind, handler in ((UserError, user_error), (StarletteHTTPException, http_error),
                          (RequestValidationError, invalid_request), (Exception, internal_error)):
        app.add_exception_handler(kind, handler)

    app.state.token_check = TokenCheck(token)
    with_token = [Depends(app.state.token_check)]
    app.include_router(health.open_router)
    for routes in (models.router, embedding.router, uploads.router, queries.router, catalogs.router):
        app.include_router(routes, dependencies=with_token)

    @app.get("/openapi.json", include_in_schema=False, dependencies=with_token)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=with_token)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)

    @app.get("/redoc", include_in_schema=False, dependencies=with_token)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=app.title)

    return app
