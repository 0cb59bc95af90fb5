"""The in-process service (Starlette's TestClient) with a private cache and the bearer token set."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.app import service


@pytest.fixture
def client(cache_dir):
    with TestClient(service.create_app("tok", device="cpu"), base_url="http://127.0.0.1",
                    headers={"Authorization": "Bearer tok"}) as c:
        yield c
