"""The backend's lifecycle, seen from the plugin: start it as a separate process, find its port and
token in its state file, wait for /health, restart it when it died, stop it on unload; or connect to
a configured URL + token (a remote GPU workstation, usually through an SSH tunnel) and start nothing.
The model list comes from the backend's ``GET /models`` (cached per connection), never from its files.

Only the standard library and the HTTP client: never torch, never ``backend``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .backend_client import BackendClient, BackendConnection, BackendEnvMissing, BackendError
from .settings import PluginSettings, backend_root

START_TIMEOUT_S = 120.0   # first start imports torch and open_clip: slow on a cold disk
STOP_TIMEOUT_S = 10.0


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


class BackendManager:
    """One backend for the plugin; ``client()`` is safe to call from any thread (tasks run in workers)."""

    def __init__(self, settings: PluginSettings, extra_env: dict[str, str] | None = None,
                 state_dir: str | Path | None = None, start_timeout: float = START_TIMEOUT_S) -> None:
        self.settings = settings
        self.extra_env = dict(extra_env or {})
        self.start_timeout = start_timeout
        self._state_dir = Path(state_dir) if state_dir else None  # a private temp folder, made on first start
        self._proc: subprocess.Popen | None = None
        self._client: BackendClient | None = None
        self._lock = threading.RLock()
        self.restarts = 0
        self.last_death: str | None = None  # one line about the last time the backend was found dead
        self._models: list[dict] | None = None  # GET /models of the current connection
        self._atexit_registered = False

    # ------------------------------------------------------------ state

    def _folder(self) -> Path:
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="remoteclip-qgis-"))
        return self._state_dir

    @property
    def state_file(self) -> Path:
        return self._folder() / "backend.json"

    @property
    def log_file(self) -> Path:
        """The backend's stdout and stderr (its one-line errors end up here too)."""
        return self._folder() / "backend.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_local(self) -> bool:
        return self.settings.mode != "remote"

    def process_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------ the client

    def client(self) -> BackendClient:
        """A client for a live backend: starts the local one when needed, restarts it when it died."""
        with self._lock:
            if not self.is_local():
                return self._remote_client()
            if self._client is not None and self.process_alive():
                return self._client
            if self._proc is not None:  # it was started and has died since
                self.restarts += 1
                self.last_death = (f"the RemoteCLIP backend (pid {self._proc.pid}) had stopped (exit status "
                                   f"{self._proc.returncode}; log: {self.log_file}): restarted it")
                self._proc = None
                self._set_client(None)
            self._start()
            return self._client

    def _set_client(self, client: BackendClient | None) -> None:
        """A new connection (or none): the models of the old one are forgotten."""
        self._client = client
        self._models = None

    def live_client(self) -> BackendClient | None:
        """The client of a backend already connected to (a local one still running), else None; starts nothing."""
        with self._lock:
            if self._client is None or (self.is_local() and not self.process_alive()):
                return None
            return self._client

    def models(self, start: bool = False) -> list[dict]:
        """The backend's models (``GET /models``: name, present, ...), cached per connection. ``start``:
        connect first (starting a local backend); otherwise [] until a backend is up, and [] when it
        does not answer. BackendError only with ``start``."""
        with self._lock:
            if self._models is not None:
                return list(self._models)
            client = self.client() if start else self.live_client()
            if client is None:
                return []
            try:
                models = client.models()
            except BackendError:
                if start:
                    raise
                return []
            if client is self._client:
                self._models = list(models)
            return list(models)

    def forget_models(self) -> None:
        """Ask GET /models again next time (a model's weights were downloaded)."""
        with self._lock:
            self._models = None

    def model_names(self) -> list[str]:
        """Names for the model pickers, from ``models()`` (never starts a backend)."""
        return [m["name"] for m in self.models() if m.get("name")]

    def _remote_client(self) -> BackendClient:
        if not self.settings.url:
            raise BackendError("remote backend: no URL set (RemoteCLIP settings)")
        if self._client is None or self._client.connection.url != self.settings.url.rstrip("/") \
                or self._client.connection.token != self.settings.token:
            self._set_client(BackendClient(BackendConnection(self.settings.url.rstrip("/"), self.settings.token)))
        self._client.health()  # raises a one-line BackendError when unreachable
        return self._client

    def _command(self) -> list[str]:
        # --parent-pid: the backend exits by itself when QGIS is gone (killed, or qgis_process ending)
        return [self.settings.resolved_interpreter(), "-m", "backend", "serve", "--port", "0",
                "--state-file", str(self.state_file), "--parent-pid", str(os.getpid())]

    def _env(self, root: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        # QGIS sets these for its own Python; a venv Python must not inherit them.
        for key in ("PYTHONHOME",):
            env.pop(key, None)
        env.update(self.extra_env)
        return env

    def _start(self) -> None:
        root = backend_root()
        if root is None:
            raise BackendError("no backend package found beside the plugin: install it or use a remote backend")
        interpreter = self.settings.resolved_interpreter()
        if os.sep in interpreter and not Path(interpreter).exists():
            raise BackendEnvMissing(f"backend Python not found: {interpreter} (create the backend environment, "
                                    "or choose a Python in the RemoteCLIP settings)")
        self._folder().mkdir(parents=True, exist_ok=True)
        try:
            self.state_file.unlink()
        except FileNotFoundError:
            pass
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child, closed below
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        if not self._atexit_registered:  # QGIS quitting without unloading the plugin still stops it
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._proc = subprocess.Popen(self._command(), cwd=str(root), env=self._env(root),
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log, **kwargs)
        except OSError as exc:
            raise BackendError(f"cannot start the backend with {interpreter}: {exc.strerror or exc}") from None
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        connection = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                reason = _last_line(self.log_file) or f"exit status {self._proc.returncode}"
                self._proc = None
                if "ModuleNotFoundError" in reason or "No module named" in reason:
                    raise BackendEnvMissing(f"the backend's Python {interpreter} lacks its packages ({reason}): "
                                            "create the backend environment, or choose another Python")
                raise BackendError(f"the backend stopped while starting: {reason}")
            if connection is None and self.state_file.exists():
                try:
                    state = json.loads(self.state_file.read_text())
                    if state.get("pid") == self._proc.pid:
                        connection = BackendConnection(state["url"].rstrip("/"), state["token"])
                except (OSError, ValueError, KeyError):
                    pass  # written atomically, but be lenient
            if connection is not None:
                client = BackendClient(connection, timeout=300.0)
                try:
                    if client.health().get("status") == "ok":
                        self._set_client(client)
                        return
                except BackendError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise BackendError(f"the backend did not start within {self.start_timeout:.0f} s (log: {self.log_file})")

    # ------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Terminate the local backend (SIGTERM: it removes its state file), kill it if it hangs."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._set_client(None)
            if proc is None:
                return
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=STOP_TIMEOUT_S)


# ---------------------------------------------------------------- the one the plugin uses

_manager: BackendManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> BackendManager:
    """The shared manager (tasks and Processing algorithms use it); made from QgsSettings on first use."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = BackendManager(PluginSettings.load())
        return _manager


def set_manager(manager: BackendManager | None) -> BackendManager | None:
    """Replace the shared manager (settings changed, or tests); returns the previous one, not stopped."""
    global _manager
    with _manager_lock:
        previous, _manager = _manager, manager
        return previous


def shutdown_manager() -> None:
    """Stop the shared backend and forget it (plugin unload)."""
    previous = set_manager(None)
    if previous is not None:
        previous.stop()
