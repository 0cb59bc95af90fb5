"""Classify's transductive option, counting refused for a model that cannot count, and prompt ensembles
through the real code paths of classify, search and count (CLI in-process, HTTP through Starlette's TestClient).

``tiny-nocount`` (tests/fixtures/extra_models.json) is the tiny random model with ``"counts": false`` and four
prompt templates; ``tiny-local`` counts and has the one default template.
"""

from __future__ import annotations

import numpy as np
import open_clip
from fastapi.testclient import TestClient

from backend.app import orchestration, service
from backend.app.cli import EXIT_CANNOT_COUNT, main
from backend.app.orchestration import RasterSpec, Workspace
from backend.errors import CannotCountError
from backend.models.factory import load_model
from backend.models.registry import get_model_spec
from backend.query.prompts import count_prompts
from backend.query.transductive import transductive_or_zero_shot
from backend.raster.reader import TilingParams

from ..conftest import wait_for_job

ENSEMBLE = ("a satellite photo of {}.", "an aerial photograph of {}.", "a satellite image of {}.",
            "{} seen from above.")
REFUSAL = ("tiny-nocount cannot count: its counts are no better than a constant guess (see its model card); "
           '--force (HTTP: "force": true) counts anyway')
HTTP_REFUSAL = ("tiny-nocount cannot count: its counts are no better than a constant guess (see its model card); "
                '"force": true counts anyway')  # over HTTP: no command-line flags


def _args(model: str, weights, tile: int = 64) -> list[str]:
    return ["--model", model, "--weights", str(weights), "--device", "cpu", "--tile-size", str(tile)]


def test_count_with_a_model_that_cannot_is_refused_before_embedding(cache_dir, sample_raster, tiny_weights, capsys,
                                                                     tmp_path):
    assert get_model_spec("tiny-nocount").counts is False and get_model_spec("tiny-local").counts is True
    out = tmp_path / "counts.gpkg"
    assert main(["count", str(sample_raster), "ship", *_args("tiny-nocount", tiny_weights), "-o", str(out)]) \
        == EXIT_CANNOT_COUNT == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {REFUSAL}"]  # one line; no estimate, no progress: nothing was embedded
    assert not out.exists() and not cache_dir.exists()
    assert main(["count", str(sample_raster), "ship", "--force", *_args("tiny-nocount", tiny_weights),
                 "-o", str(out)]) == 0
    assert out.exists()


def test_transductive_classify_on_the_cli(cache_dir, sample_raster, tiny_weights, capsys):
    r = str(sample_raster)
    assert main(["classify", r, "--classes", "farmland,lake,road", "--transductive",
                 *_args("tiny-local", tiny_weights)]) == 0
    assert "note:" not in capsys.readouterr().err
    # one 1024 px tile and three classes: transduction cannot run, plain zero-shot does and says so
    assert main(["classify", r, "--classes", "farmland,lake,road", "--transductive",
                 *_args("tiny-local", tiny_weights, 1024)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
    assert notes == ["note: transductive needs at least as many tiles as classes (1 tiles, 3 classes): "
                     "plain zero-shot used"]


def _embed(client: TestClient, body: dict) -> None:
    job = wait_for_job(client, client.post("/embed", json=body).json())
    assert job["state"] == "done", job


def test_http_count_refusal_force_and_transductive_note(client, sample_raster, tiny_weights):
    models = {m["name"]: m for m in client.get("/models").json()}
    assert models["tiny-nocount"]["counts"] is False and models["tiny-local"]["counts"] is True
    assert models["remoteclip-qgis-small"]["counts"] is False
    body = {"raster": str(sample_raster), "model": "tiny-nocount", "weights": str(tiny_weights), "tile_size": 64}
    r = client.post("/count", json=dict(body, object="storage tank"))
    assert r.status_code == 422 and r.json() == {"error": HTTP_REFUSAL}  # refused before the store is looked up
    _embed(client, body)
    r = client.post("/count", json=dict(body, object="storage tank", force=True))
    assert r.status_code == 200 and r.json()["summary"]["total_expected"] > 0

    classify = dict(body, classes=["farmland", "lake", "road"], transductive=True)
    r = client.post("/classify", json=classify)
    assert r.status_code == 200 and "note" not in r.json()["summary"]
    one_tile = dict(body, tile_size=1024)
    _embed(client, one_tile)
    r = client.post("/classify", json=dict(one_tile, classes=["farmland", "lake", "road"], transductive=True))
    assert r.status_code == 200
    assert r.json()["summary"]["note"] == ("transductive needs at least as many tiles as classes (1 tiles, "
                                           "3 classes): plain zero-shot used")
    assert service.http_status(CannotCountError("m")) == 422


def _classifier(model, names: list[str], templates) -> np.ndarray:
    """open_clip's own ensembling, called here directly: ``C x D`` unit class vectors."""
    w = open_clip.build_zero_shot_classifier(model.model, model.tokenizer, names, list(templates), device="cpu")
    return w.T.float().numpy()


def test_prompt_ensembles_through_classify_search_and_count(cache_dir, sample_raster, tiny_weights):
    """The registry's four templates reach classify, search and count and give open_clip's ensembles."""
    model = load_model("tiny-nocount", weights=str(tiny_weights), device="cpu")
    assert model.spec.prompt_templates == ENSEMBLE
    workspace = Workspace("cpu", when_missing=lambda p: orchestration.embed(workspace, p).store)
    spec = RasterSpec(str(sample_raster), model="tiny-nocount", weights=str(tiny_weights),
                      tiling=TilingParams(tile_px=64))
    classes = ["farmland", "lake", "road"]
    answer = orchestration.classify(workspace, spec, classes)
    x = np.asarray(answer.store.embeddings, dtype=np.float32)
    logits = model.logit_scale * x @ _classifier(model, classes, ENSEMBLE).T
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(answer.result.probabilities, expected / expected.sum(1, keepdims=True), atol=1e-5)
    single = _classifier(model, classes, ENSEMBLE[:1])
    assert not np.allclose(_classifier(model, classes, ENSEMBLE), single, atol=1e-3)  # the ensemble differs

    transductive = orchestration.classify(workspace, spec, classes, transductive=True)
    probs, note = transductive_or_zero_shot(x, _classifier(model, classes, ENSEMBLE), model.logit_scale)
    assert note is None
    np.testing.assert_allclose(transductive.result.probabilities, probs, atol=1e-5)

    search = orchestration.search(workspace, spec, ["lake", "pond"], k=3)
    query = _classifier(model, ["lake", "pond"], ENSEMBLE).mean(0)
    np.testing.assert_allclose(search.result.scores, x @ (query / np.linalg.norm(query)), atol=1e-5)

    count = orchestration.count(workspace, spec, "storage tank", force=True)
    assert count.result.prompts == count_prompts("storage tank", "{} {}")
    text = _classifier(model, count.result.prompts, ENSEMBLE)
    logits = model.logit_scale * x @ text.T
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(count.result.probabilities, expected / expected.sum(1, keepdims=True), atol=1e-5)


def test_count_phrases_in_the_default_template_are_remotecounts_prompts():
    from backend.query.prompts import DEFAULT_TEMPLATES, count_phrases

    assert [DEFAULT_TEMPLATES[0].format(p) for p in count_phrases("storage tanks")] == count_prompts("storage tanks")
