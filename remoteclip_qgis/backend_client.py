"""A small client for the backend's loopback HTTP API, using only the standard library.

QGIS's Python has no third-party HTTP client guaranteed, and this must never pull in torch.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class BackendError(Exception):
    """The backend answered with an error; the message is its one-line reason (the HTTP body's ``error``, worded
    for people, never with the status code or command-line flags: the backend words its HTTP lines so).

    ``status`` is the HTTP status (None when the backend could not be reached); ``reason`` is the
    backend's own one-line message without the status suffix; ``body`` its whole JSON answer, and ``raster`` a
    409's raster to embed (``body["raster"]``), when the body names one.
    """

    def __init__(self, message: str, status: int | None = None, reason: str | None = None,
                 body: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or message
        self.body = body or {}
        raster = self.body.get("raster")
        self.raster = raster if isinstance(raster, str) else None


class BackendEnvMissing(BackendError):
    """The backend's Python is missing or lacks its packages: the plugin can create its environment."""


@dataclass(frozen=True)
class BackendConnection:
    """Where the backend listens and the token it expects."""

    url: str
    token: str

    @classmethod
    def from_state_file(cls, path: str | Path) -> BackendConnection:
        state = json.loads(Path(path).read_text())
        return cls(url=state["url"].rstrip("/"), token=state["token"])


class BackendClient:
    """JSON over HTTP to the backend; every call but health() sends the bearer token."""

    def __init__(self, connection: BackendConnection, timeout: float = 60.0) -> None:
        self.connection = connection
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True,
                 upload: Path | None = None) -> dict | list:
        if upload is not None:  # streamed from the file: urllib sends a file object in blocks
            size = Path(upload).stat().st_size
            data = open(upload, "rb")  # noqa: SIM115 - closed below
            req = urllib.request.Request(self.connection.url + path, data=data, method=method)
            req.add_header("Content-Type", "image/tiff")
            req.add_header("Content-Length", str(size))
        else:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(self.connection.url + path, data=data, method=method)
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.connection.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
                reason = body.get("error") or exc.reason
            except (ValueError, AttributeError):
                body, reason = None, exc.reason
            line = str(reason).strip().splitlines()[0] if str(reason).strip() else f"HTTP {exc.code}"
            raise BackendError(line, status=exc.code, reason=line, body=body if isinstance(body, dict) else None
                               ) from None
        except urllib.error.URLError as exc:
            raise BackendError(f"backend at {self.connection.url} is not reachable ({exc.reason})") from None
        except (ConnectionError, TimeoutError) as exc:  # reset mid-answer, or a read timeout
            raise BackendError(f"backend at {self.connection.url} did not answer ({exc})") from None
        finally:
            if upload is not None:
                data.close()

    def health(self) -> dict:
        return self._request("GET", "/health", auth=False)

    def models(self) -> list:
        return self._request("GET", "/models")

    def download_model(self, name: str) -> dict:
        """Start fetching a model's weights on the backend's machine: a job (``done``/``total`` in bytes)."""
        from urllib.parse import quote

        return self._request("POST", f"/models/{quote(name, safe='')}/download")

    def embed(self, **request) -> dict:
        return self._request("POST", "/embed", request)

    def estimate(self, **request) -> dict:
        """Tiles, seconds and disk bytes that embedding this raster will cost (``embedded``: no cost)."""
        return self._request("POST", "/estimate", request)

    def upload_status(self, digest: str) -> dict:
        """The backend's raster name for an upload it holds; BackendError with status 404 when it has none."""
        return self._request("GET", f"/uploads/{digest}")

    def upload(self, path: str | Path, digest: str) -> dict:
        """Send a GeoTIFF (named by its SHA-256); the answer's ``raster`` names it in later requests."""
        return self._request("PUT", f"/uploads/{digest}", upload=Path(path))

    def jobs(self) -> list:
        return self._request("GET", "/jobs")

    def job(self, job_id: str) -> dict:
        return self._request("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict:
        return self._request("POST", f"/jobs/{job_id}/cancel")

    def search(self, **request) -> dict:
        return self._request("POST", "/search", request)

    def classify(self, **request) -> dict:
        return self._request("POST", "/classify", request)

    def count(self, **request) -> dict:
        return self._request("POST", "/count", request)

    def similar(self, **request) -> dict:
        return self._request("POST", "/similar", request)

    def change(self, **request) -> dict:
        return self._request("POST", "/change", request)

    def fewshot(self, **request) -> dict:
        return self._request("POST", "/fewshot", request)

    # ---------------------------------------------------------------- catalogues

    def catalogs(self) -> list:
        """The backend's catalogues: name, model, rasters, embedded."""
        return self._request("GET", "/catalogs")

    def catalog_search(self, **request) -> dict:
        """Hits over every raster of ``request["catalog"]`` (GeoJSON in EPSG:4326); 409 names a changed raster."""
        return self._request("POST", "/catalog/search", request)

    def catalog_add(self, name: str, **request) -> dict:
        """Start adding ``request["rasters"]`` to catalogue ``name`` (made when new): a job (``done``/``total``
        tiles to embed)."""
        from urllib.parse import quote

        return self._request("POST", f"/catalogs/{quote(name, safe='')}/rasters", request)

    def catalog_remove(self, name: str, rasters: list[str]) -> dict:
        from urllib.parse import quote

        return self._request("POST", f"/catalogs/{quote(name, safe='')}/remove", {"rasters": rasters})
