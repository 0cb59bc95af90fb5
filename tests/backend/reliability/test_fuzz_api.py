"""Fuzzing the live service from its own OpenAPI schema (schemathesis): no request it can build, valid or
not, gets a 5xx, and every answer conforms to the schema (status codes, content types, bodies).

Bounded for CI: a few examples per operation and generation mode, no shrinking, no example database,
one live server. schemathesis's pytest plugin does not run under pytest 9 (``Function._nodeid``), so the
operations are driven here through its Python API with hypothesis's ``@given``.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from .. import raster_factory as rf
from .conftest import LiveServer

EXAMPLES_PER_OPERATION = 5
# Schema-valid is not always acceptable here: a "raster" string that names a folder or a text file is
# valid JSON for the schema and still a 400 (the schema cannot say "a readable raster"); every other
# check runs: no 5xx, documented status codes, content types and bodies that match the schema.
EXCLUDED_CHECKS = [positive_data_acceptance]


def fuzz(live_server: LiveServer, mode: GenerationMode, pin: dict | None = None,
         labels: set[str] | None = None) -> tuple[int, list[str], dict[int, int]]:
    """Run every operation's strategy in ``mode``; returns (requests sent, one line per failure, count of
    each status code).

    ``pin``: body fields set on every generated body (e.g. an embedded raster, so queries get past
    "not embedded yet" into the search code); ``labels``: only these operations."""
    auth = {"Authorization": f"Bearer {live_server.token}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", headers=auth)
    failures: list[str] = []
    sent = 0
    statuses: dict[int, int] = {}

    def pinned(case):
        if pin and isinstance(case.body, dict):
            case.body.update(pin)
        return case

    for result in schema.get_all_operations():
        operation = result.ok()
        if labels is not None and operation.label not in labels:
            continue

        @given(case=operation.as_strategy(generation_mode=mode).map(pinned))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            nonlocal sent
            sent += 1
            try:
                response = case.call_and_validate(base_url=live_server.url, headers=auth, timeout=60,
                                                  excluded_checks=EXCLUDED_CHECKS)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except BaseException as exc:  # schemathesis's FailureGroup is a BaseExceptionGroup
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                # collect every operation's failure, then report them together
                first = str(exc).strip().splitlines()[:6]
                failures.append(f"{case.operation.label} {mode.value}: {' | '.join(first)}")

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. GET /health has no parameters)
            assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"status codes: {dict(sorted(statuses.items()))}")
    return sent, failures, statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_and_never_fails(live_server: LiveServer, mode):
    sent, failures, _ = fuzz(live_server, mode)
    print(f"schemathesis {schemathesis.__version__}, {mode.value}: {sent} requests, {len(failures)} failures")
    assert sent >= 20
    assert not failures, "\n".join(sorted(set(failures)))


def test_queries_on_an_embedded_raster_conform_and_never_fail(live_server: LiveServer, tmp_path):
    """The same, with the raster, model and tiling pinned to an embedded store: the generated queries,
    classes, objects, k, points and tile ids reach the search code itself (never an output file)."""
    raster = rf.rgb_uint8(tmp_path, width=192, height=128, name="fuzzed.tif")
    assert live_server.embed(raster)["state"] == "done"
    pin = {**live_server.body(raster), "output": None, "overlap": 0.0, "bands": None, "gsd": None,
           "ground_size_m": None, "min_valid": 0.01}
    sent, failures, statuses = fuzz(live_server, GenerationMode.POSITIVE, pin=pin,
                          labels={"POST /search", "POST /classify", "POST /count", "POST /similar", "POST /estimate"})
    print(f"schemathesis {schemathesis.__version__}, positive on an embedded raster: {sent} requests, "
          f"{len(failures)} failures")
    assert sent >= 15 and statuses.get(200, 0) >= 5, statuses  # the search code itself was reached
    assert not failures, "\n".join(sorted(set(failures)))
    # /change with both dates the embedded raster: the generated k, queries and surface flags reach the change code
    sent, failures, statuses = fuzz(live_server, GenerationMode.POSITIVE, labels={"POST /change"},
                                    pin={**pin, "after": pin["raster"], "heatmap": None})
    assert sent >= 3 and statuses.get(200, 0) >= 1, statuses
    assert not failures, "\n".join(sorted(set(failures)))
