"""What stands between a request and the routes: the Host check, body size limits and the bearer token.

Every refusal is the service's usual one-line ``{"error": ...}`` body: 403 for a Host header that is not a
loopback name or the bound address (DNS rebinding), 413 for a body past its limit (bytes), 401 with
``WWW-Authenticate: Bearer`` for a missing or wrong token.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..raster.uploads import max_upload_bytes

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
MAX_BODY_BYTES = 1_000_000  # JSON bodies; a thousand phrases of a thousand characters
DRAIN_BYTES = 64_000_000  # a chunked body past the limit is read and dropped up to this, then cut off
UPLOADS_PREFIX = "/uploads/"  # uploads stream to disk under their own, larger limit (checked while receiving)
ADMITTED = "remoteclip.host_admitted"  # scope key: the Host check let this request through
HOST_REFUSED = JSONResponse({"error": "Host header not allowed: use 127.0.0.1 or localhost"}, status_code=403)


def allowed_hosts(bound_host: str) -> list[str]:
    """Host header names served: the loopback names and the address the service is bound to."""
    bound = f"[{bound_host}]" if ":" in bound_host else bound_host
    return [*LOOPBACK_NAMES, *([bound] if bound not in LOOPBACK_NAMES else [])]


class LoopbackHosts(TrustedHostMiddleware):
    """Starlette's Host check, its refusal answered as 403 with a one-line JSON body (Starlette answers 400 in
    plain text). Starlette decides; a request it lets through is marked in its scope, and the response to one
    it did not is replaced."""

    def __init__(self, app: ASGIApp, bound_host: str = "127.0.0.1") -> None:
        super().__init__(self._admitted, allowed_hosts=allowed_hosts(bound_host), www_redirect=False)
        self.routes = app

    async def _admitted(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ADMITTED] = True
        await self.routes(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def refuse_as_json(message: Message) -> None:
            if scope.get(ADMITTED):
                await send(message)
            elif message["type"] == "http.response.start":
                await HOST_REFUSED(scope, receive, send)
            # else: the body of Starlette's own refusal, dropped

        await super().__call__(scope, receive, refuse_as_json if scope["type"] == "http" else send)


def _too_large(limit: int, **headers: str) -> JSONResponse:
    return JSONResponse({"error": f"request body over {limit} bytes"}, status_code=413, headers=headers or None)


class BodyLimit:
    """ASGI middleware: a declared Content-Length past the limit (``MAX_BODY_BYTES``; uploads
    ``$REMOTECLIP_MAX_UPLOAD_MB``) is refused with 413 before anything is read; a JSON body without one
    (chunked) is counted while it arrives and refused past ``MAX_BODY_BYTES``. Uploads without a length are
    counted by ``UploadWriter`` as they stream to disk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].startswith(UPLOADS_PREFIX)
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            limit = max_upload_bytes() if upload else MAX_BODY_BYTES
            if length.isdigit() and int(length) > limit:
                await _too_large(limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if upload:
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
            await _too_large(MAX_BODY_BYTES, Connection="close")(scope, receive, send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


bearer = HTTPBearer(auto_error=False, description="the token from the backend's state file")


class TokenCheck:
    """The dependency every route but ``/health`` has: the whole Authorization header, compared in constant time
    (``secrets.compare_digest``, for right, wrong and missing tokens alike) to ``Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}".encode()

    def accepts(self, request: Request) -> bool:
        return secrets.compare_digest(request.headers.get("authorization", "").encode("latin-1"), self.expected)

    def __call__(self, request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        # HTTPBearer declares the scheme in the OpenAPI schema; the header is compared as sent, because
        # HTTPBearer takes "bearer" in any case and strips what follows it ("Bearer  <token>" would pass).
        if not self.accepts(request):
            raise unauthorized()


def unauthorized() -> HTTPException:
    return HTTPException(401, "missing or wrong bearer token (see the backend's state file)",
                         headers={"WWW-Authenticate": "Bearer"})


def refused_before_routing(request: Request, status: int) -> bool:
    """Whether a refusal that came before the token dependency ran (404 unknown path, 405 method, 422 a body
    that is not JSON: FastAPI reads the body before dependencies) goes to a client without the token, which
    then hears 401 instead, and learns nothing of paths or schemas."""
    check: TokenCheck = request.app.state.token_check
    return status != 401 and request.url.path != "/health" and not check.accepts(request)
