"""The bearer token is compared in constant time.

Timing cannot be measured reliably on a shared CI machine, so this checks the mechanism instead: every
token check goes through ``secrets.compare_digest`` (never ``==``), on the whole header, for right,
wrong and missing tokens alike. In-process (Starlette's TestClient) because it spies on a function.
"""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from backend.app import guards, service


@pytest.fixture
def spy(monkeypatch) -> list[tuple[bytes, bytes]]:
    calls: list[tuple[bytes, bytes]] = []
    real = secrets.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(guards.secrets, "compare_digest", recording)
    return calls


@pytest.mark.parametrize("header, status", [(None, 401), ("Bearer wrong", 401), ("Bearer tok-123", 200),
                                            ("Bearer tok-12", 401), ("bearer tok-123", 401)])
def test_every_token_check_uses_compare_digest(spy, header, status):
    client = TestClient(service.create_app("tok-123"), base_url="http://127.0.0.1")
    headers = {"Authorization": header} if header is not None else {}
    r = client.get("/jobs", headers=headers)
    assert r.status_code == status
    assert spy == [((header or "").encode(), b"Bearer tok-123")]
    assert "tok-123" not in r.text


def test_health_needs_no_token_and_compares_none(spy):
    client = TestClient(service.create_app("tok-123"), base_url="http://127.0.0.1")
    assert client.get("/health").status_code == 200 and spy == []
