"""One rule for numbers read from the environment: default when unset, one-line error when wrong."""

from __future__ import annotations

import pytest

from backend.config import env_number
from backend.embedding.checkpoint import checkpoint_seconds
from backend.embedding.cost_model import disk_budget_bytes
from backend.errors import UserError
from backend.raster.uploads import DEFAULT_MAX_BYTES, max_upload_bytes


def test_unset_or_empty_gives_the_default(monkeypatch):
    monkeypatch.delenv("RC_TEST_N", raising=False)
    assert env_number("RC_TEST_N", 7, "things", 1) == 7
    monkeypatch.setenv("RC_TEST_N", "  ")
    assert env_number("RC_TEST_N", None, "things", 1) is None
    monkeypatch.setenv("RC_TEST_N", "2.5")
    assert env_number("RC_TEST_N", 7, "things", 1) == 2.5


@pytest.mark.parametrize("text, whole", [("abc", False), ("nan", False), ("inf", False), ("0.5", False),
                                         ("2.5", True), ("0", True)])
def test_bad_values_are_one_line(monkeypatch, text, whole):
    monkeypatch.setenv("RC_TEST_N", text)
    expected = f"RC_TEST_N must be a (whole )?number of things \\(at least 1\\), got '{text}'"
    with pytest.raises(UserError, match=expected):
        env_number("RC_TEST_N", 7, "things", 1, whole=whole)


def test_the_backends_settings_read_through_it(monkeypatch):
    for name in ("REMOTECLIP_DISK_BUDGET_MB", "REMOTECLIP_MAX_UPLOAD_MB", "REMOTECLIP_CHECKPOINT_S"):
        monkeypatch.delenv(name, raising=False)
    assert (disk_budget_bytes(), max_upload_bytes(), checkpoint_seconds()) == (None, DEFAULT_MAX_BYTES, 10.0)
    monkeypatch.setenv("REMOTECLIP_DISK_BUDGET_MB", "50")
    monkeypatch.setenv("REMOTECLIP_MAX_UPLOAD_MB", "2")
    monkeypatch.setenv("REMOTECLIP_CHECKPOINT_S", "0")
    assert (disk_budget_bytes(), max_upload_bytes(), checkpoint_seconds()) == (50_000_000, 2_000_000, 0.0)
    monkeypatch.setenv("REMOTECLIP_DISK_BUDGET_MB", "0")
    with pytest.raises(UserError, match="REMOTECLIP_DISK_BUDGET_MB must be a number of megabytes"):
        disk_budget_bytes()
