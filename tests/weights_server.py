"""A weights server on loopback for download tests (Hugging Face is not reachable here): serves files the plain
way (``GET /files/<name>``, e.g. a release asset) and the hub's way (``HEAD``/``GET /<org>/<repo>/resolve/main/
<file>`` with ``X-Repo-Commit``, ``ETag`` and ``Content-Length``, as ``huggingface_hub.hf_hub_download`` expects,
pointed at it with ``HF_ENDPOINT``). ``slow_s`` sleeps between 64 KiB blocks (time to cancel); ``break_after``
closes the connection after that many bytes of a body whose declared length is the whole file (a network error).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path

BLOCK = 1 << 16


class WeightsServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}  # URL path -> content
        self.slow_s = 0.0
        self.break_after: int | None = None
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _headers(self) -> bytes | None:
                body = server.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                digest = hashlib.sha256(body).hexdigest()
                self.send_response(200)
                self.send_header("X-Repo-Commit", hashlib.sha1(self.path.encode()).hexdigest())
                self.send_header("ETag", f'"{digest}"')
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                return body

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(("HEAD", self.path))
                self._headers()

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(("GET", self.path))
                body = self._headers()
                if body is None:
                    return
                limit = len(body) if server.break_after is None else server.break_after
                for start in range(0, limit, BLOCK):
                    try:
                        self.wfile.write(body[start:min(start + BLOCK, limit)])
                        self.wfile.flush()
                    except OSError:  # the client went away (cancelled)
                        return
                    if server.slow_s:
                        time.sleep(server.slow_s)
                self.close_connection = True

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def add_file(self, name: str, source: Path) -> str:
        """Serve ``source`` at ``/files/<name>``; returns its URL."""
        self.files[f"/files/{name}"] = Path(source).read_bytes()
        return f"{self.url}/files/{name}"

    def add_hub_file(self, repo: str, filename: str, source: Path) -> None:
        self.files[f"/{repo}/resolve/main/{filename}"] = Path(source).read_bytes()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()



def random_file(dest: Path, size: int) -> Path:
    """``size`` random bytes at ``dest``: a file to download, never loaded (progress, cancel, broken transfers)."""
    import os

    dest.write_bytes(os.urandom(size))
    return dest
