"""Access rules of the loopback service, checked against a real ``python -m backend serve`` over real HTTP:
loopback bind, bearer token, Host check (DNS rebinding), no CORS, body limits, file paths."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess

import httpx
import pytest

from ..conftest import backend_env, start_serve
from .conftest import MAX_UPLOAD_MB, SAMPLE, LiveServer

SECRET = "SECRET-CONTENT-7f3a9c"  # written into files the service must never echo back


def raw_request(server: LiveServer, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send exactly these bytes (headers we choose, even malformed ones) and parse the answer."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                header_blob, _, rest = data.partition(b"\r\n\r\n")
                lines = header_blob.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
                if len(rest) >= int(headers.get("content-length", "0")):
                    return int(lines[0].split()[1]), headers, rest
    raise AssertionError(f"no complete answer: {data[:200]!r}")


def assert_clean_error(server: LiveServer, text: str) -> None:
    """An error body is one JSON line: no token, no traceback, no file content."""
    assert server.token not in text
    assert "Traceback" not in text and 'File "' not in text and SECRET not in text
    err = json.loads(text).get("error")
    assert err and "\n" not in str(err)


# ---------------------------------------------------------------- bind address


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port``, from the kernel's tables (hex, as in /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(addr)
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_default_bind_is_loopback_only(live_server):
    assert live_server.state["host"] == "127.0.0.1" and live_server.url.startswith("http://127.0.0.1:")
    # the kernel says: listening on 127.0.0.1 only (0100007F), not 0.0.0.0 (00000000)
    assert _listening_addresses(live_server.state["port"]) == {"0100007F"}


def test_binding_elsewhere_warns_and_still_needs_the_token(tmp_path):
    proc, state = start_serve(tmp_path / "backend.json", backend_env(tmp_path / "cache"), "--host", "0.0.0.0",
                              stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{state['port']}"
        assert httpx.get(f"{base}/models", timeout=60).status_code == 401
        r = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {state['token']}"}, timeout=60)
        assert r.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warning: listening on 0.0.0.0, reachable from other machines" in err
    assert "every request still needs the token" in err


# ---------------------------------------------------------------- token


@pytest.mark.parametrize("auth", [
    None, "", "Bearer", "Bearer wrong", "Basic {token}", "bearer {token}", "Token {token}", "{token}",
    "Bearer {token}x", "Bearer  {token}", "Bearer {half}", "Bearer {token}\tjunk", "Bearer {token},Bearer x",
])
@pytest.mark.parametrize("method, path", [("GET", "/models"), ("GET", "/jobs"), ("GET", "/openapi.json"),
                                          ("GET", "/docs"), ("POST", "/search"), ("PUT", "/uploads/" + "a" * 64)])
def test_wrong_missing_or_other_scheme_tokens_are_refused(live_server, auth, method, path):
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth.format(token=live_server.token, half=live_server.token[:20])
    r = httpx.request(method, live_server.url + path, headers=headers, json={"raster": "x", "queries": ["a"]},
                      timeout=60)
    assert r.status_code == 401, (auth, r.text)
    assert r.headers.get("www-authenticate") == "Bearer"
    assert_clean_error(live_server, r.text)


def test_token_in_the_query_string_is_not_a_token(live_server):
    r = httpx.get(f"{live_server.url}/models", params={"token": live_server.token,
                                                       "access_token": live_server.token})
    assert r.status_code == 401 and live_server.token not in r.text


def test_health_is_open_and_says_nothing_else(live_server):
    r = httpx.get(f"{live_server.url}/health")
    assert r.status_code == 200 and set(r.json()) == {"status", "version"}


# ---------------------------------------------------------------- Host header (DNS rebinding)


@pytest.mark.parametrize("host", ["evil.com", "127.0.0.1.evil.com", "localhost.evil.com", "", "evil.com:{port}",
                                  "127.0.0.1.evil.com:{port}", "localhost@evil.com", "0.0.0.0", "[::ffff:1.2.3.4]",
                                  "10.0.0.1", "192.168.1.1:{port}", "localhost evil.com"])
def test_foreign_host_headers_are_refused(live_server, host):
    host = host.format(port=live_server.state["port"])
    status, headers, body = raw_request(
        live_server, f"GET /models HTTP/1.1\nHost: {host}\nAuthorization: Bearer {live_server.token}\n"
                     "Connection: close\n")
    assert status in (400, 403), (host, status, body)  # 400: uvicorn refuses a malformed Host itself
    if status == 403:
        assert_clean_error(live_server, body.decode())


def test_missing_host_header_is_refused(live_server):
    status, _, body = raw_request(live_server, f"GET /models HTTP/1.0\nAuthorization: Bearer {live_server.token}\n")
    assert status in (400, 403) and live_server.token.encode() not in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "localhost", "127.0.0.1", "[::1]:{port}"])
def test_loopback_host_headers_are_served(live_server, host):
    status, _, body = raw_request(
        live_server, f"GET /models HTTP/1.1\nHost: {host.format(port=live_server.state['port'])}\n"
                     f"Authorization: Bearer {live_server.token}\nConnection: close\n")
    assert status == 200, body


# ---------------------------------------------------------------- no CORS


def test_no_cors_headers_for_a_foreign_origin(live_server):
    c = live_server.client
    for r in (c.get("/models", headers={"Origin": "http://evil.com"}),
              httpx.get(f"{live_server.url}/health", headers={"Origin": "http://evil.com"}),
              httpx.get(f"{live_server.url}/models", headers={"Origin": "http://evil.com"})):
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


@pytest.mark.parametrize("authorised", [False, True])
def test_preflight_gets_no_cors_allowance(live_server, authorised):
    headers = {"Origin": "http://evil.com", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
    if authorised:
        headers["Authorization"] = f"Bearer {live_server.token}"
    r = httpx.options(f"{live_server.url}/search", headers=headers)
    assert r.status_code in (401, 405), r.status_code
    assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


# ---------------------------------------------------------------- body limits


def test_json_body_over_one_megabyte_is_refused(live_server):
    body = json.dumps(live_server.body(SAMPLE, queries=["x" * 1000] * 1100)).encode()
    assert len(body) > 1_000_000
    r = live_server.client.post("/search", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "request body over" in r.json()["error"]


def test_chunked_json_body_over_one_megabyte_is_refused(live_server):
    """No Content-Length: counted while it arrives (the declared-size check cannot see it)."""
    piece = b" " * 65536

    def chunks():
        yield b'{"raster": "x", "queries": ["a"]'
        for _ in range(20):  # 1.3 MB of JSON whitespace
            yield piece
        yield b"}"

    r = live_server.client.post("/search", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "request body over" in r.json()["error"]


def test_chunked_json_body_under_the_limit_is_served(live_server):
    def chunks():
        yield json.dumps(live_server.body(SAMPLE)).encode()[:-1]
        yield b" " * 10_000 + b"}"

    r = live_server.client.post("/estimate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def test_upload_over_its_limit_is_refused_with_or_without_length(live_server):
    data = os.urandom(MAX_UPLOAD_MB * 1_000_000 + 100_000)
    digest = hashlib.sha256(data).hexdigest()
    r = live_server.client.put(f"/uploads/{digest}", content=data)
    assert r.status_code == 413, r.text

    def chunks():
        for i in range(0, len(data), 256 * 1024):
            yield data[i:i + 256 * 1024]

    r = live_server.client.put(f"/uploads/{digest}", content=chunks())
    assert r.status_code == 413 and "upload over" in r.json()["error"], r.text
    assert live_server.client.get(f"/uploads/{digest}").status_code == 404  # nothing kept


# ---------------------------------------------------------------- file paths


def _not_a_raster(tmp_path):
    path = tmp_path / "notes.tif"
    path.write_text(f"{SECRET}\nthis is not a raster\n" * 50)
    return path


def _symlink_to_passwd(tmp_path):
    path = tmp_path / "link.tif"
    path.symlink_to("/etc/passwd")
    return path


@pytest.mark.parametrize("make, status, needle", [
    (lambda tmp: tmp, {400}, "is a folder, not a raster file"),
    (lambda tmp: "/etc/passwd", {400}, "is not a raster GDAL can read"),
    (lambda tmp: "/etc/shadow", {400}, "not"),  # unreadable for users, not a raster for root
    (_not_a_raster, {400}, "is not a raster GDAL can read"),
    (_symlink_to_passwd, {400}, "is not a raster GDAL can read"),
    (lambda tmp: tmp / "missing.tif", {404}, "raster not found"),
    (lambda tmp: "relative/../../etc/passwd", {404}, "raster not found"),
    (lambda tmp: "/dev/zero", {400}, "is not a regular file"),
    (lambda tmp: "", {400, 404}, ""),
])
@pytest.mark.parametrize("route", ["/embed", "/estimate", "/search"])
def test_paths_must_name_readable_rasters(live_server, tmp_path, make, status, needle, route):
    raster = make(tmp_path)
    r = live_server.client.post(route, json=live_server.body(raster, queries=["lake"]))
    assert r.status_code in status, r.text
    assert needle in r.json()["error"], r.text
    assert_clean_error(live_server, r.text)
    assert "root:" not in r.text  # /etc/passwd's first line never comes back


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("route", ["/embed", "/estimate"])
def test_a_pipe_is_refused_not_read_forever(live_server, tmp_path, route):
    """GDAL blocks for ever opening a named pipe that has no writer: refused before it is opened."""
    pipe = tmp_path / "pipe.tif"
    os.mkfifo(pipe)
    r = live_server.client.post(route, json=live_server.body(pipe), timeout=20)
    assert r.status_code == 400 and "is not a regular file" in r.json()["error"], r.text
    assert_clean_error(live_server, r.text)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_raster_is_refused(live_server, tmp_path):
    path = tmp_path / "locked.tif"
    path.write_bytes(SAMPLE.read_bytes())
    path.chmod(0)
    r = live_server.client.post("/embed", json=live_server.body(path))
    assert r.status_code == 400 and "not readable" in r.json()["error"]
    assert_clean_error(live_server, r.text)


# ---------------------------------------------------------------- a real internal error


def test_damaged_store_is_set_aside_and_embedded_again(live_server, tmp_path):
    """A damaged store in the cache (the backend's own files changed under it, here overwritten with the
    token) is moved aside: the query answers 409 (embed first, which the plugin does by itself), the body
    leaks nothing, and embedding again gives a working store."""
    raster = tmp_path / "damaged-store.tif"
    raster.write_bytes(SAMPLE.read_bytes())
    job = live_server.embed(raster)
    assert job["state"] == "done", job
    store = live_server.tmp / "cache" / "stores" / job["result"]["store"]
    (store / "tiles.npz").write_bytes(f"{SECRET} {live_server.token}".encode())
    r = live_server.client.post("/search", json=live_server.body(raster, queries=["lake"]))
    assert r.status_code == 409 and "POST /embed first" in r.json()["error"], r.text
    assert_clean_error(live_server, r.text)
    assert not store.exists() and list(store.parent.glob(f".damaged-{store.name}-*"))
    assert live_server.embed(raster)["state"] == "done"
    r = live_server.client.post("/search", json=live_server.body(raster, queries=["lake"]))
    assert r.status_code == 200, r.text
