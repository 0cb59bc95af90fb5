"""Running the service: ``python -m backend serve`` binds a socket, writes the state file and serves until
stopped (SIGTERM, Ctrl-C, or the QGIS that started it gone).

Bound to 127.0.0.1 by default on a free port; a random bearer token guards every route but ``/health``. Port,
token and pid go to a state file only the user can read, which exists exactly while the service serves.
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
from pathlib import Path

from .. import __version__
from ..errors import UserError
from .service import create_app


def default_state_file() -> Path:
    """``$XDG_STATE_HOME/remoteclip-qgis/backend.json`` (``~/.local/state`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "remoteclip-qgis" / "backend.json"


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
