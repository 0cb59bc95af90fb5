"""Loading the shipped model leaves the console to the product: no transformers load report, no
progress bar of its weights, no open_clip "initialized partially"; real errors still show."""

from __future__ import annotations

import logging
import subprocess

from backend.models.factory import _quiet_load

from ..conftest import PYTHON, ROOT, SAMPLE, backend_env

NOISE = ("LOAD REPORT", "initialized partially", "initialized randomly", "Loading weights")


def test_search_with_the_shipped_model_prints_only_product_lines(tmp_path):
    proc = subprocess.run(
        [PYTHON, "-m", "backend", "search", str(SAMPLE), "lake", "--tile-size", "64", "-k", "3"],
        cwd=ROOT, env=backend_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for noise in NOISE:
        assert noise not in proc.stderr, proc.stderr
    assert "model: remoteclip-qgis-small" in proc.stderr
    assert "rank" in proc.stdout


def test_the_quiet_load_is_scoped_and_keeps_errors(caplog):
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    with caplog.at_level(logging.WARNING):
        with _quiet_load():
            logging.warning("Model X initialized partially.")  # open_clip logs on the root logger
            logging.warning("a product warning")
            hf_logging.get_logger("transformers.modeling_utils").warning("BertModel LOAD REPORT from: x")
            assert hf_logging.get_verbosity() == hf_logging.ERROR
        logging.warning("Model Y initialized partially.")  # outside the load: not filtered
    messages = [r.getMessage() for r in caplog.records]
    assert "a product warning" in messages and "Model Y initialized partially." in messages
    assert "Model X initialized partially." not in messages
    assert not any("LOAD REPORT" in m for m in messages)
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == before
