"""Prompts: plural/singular forms, counting prompts, phrase and class-list validation."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import UserError
from backend.query.prompts import (
    DEFAULT_TEMPLATES,
    MAX_QUERY_CHARS,
    NUMBER_WORDS,
    class_embeddings,
    clean_phrases,
    count_prompts,
    parse_class_list,
    phrase_embedding,
    plural,
    singular,
)

# (singular, plural) pairs the counting prompts must get right in both directions.
FORMS = [
    ("storage tank", "storage tanks"),
    ("bus", "buses"),
    ("ferry", "ferries"),
    ("aircraft", "aircraft"),
    ("church", "churches"),
    ("box", "boxes"),
    ("ship", "ships"),
    ("tennis court", "tennis courts"),
    ("greenhouse", "greenhouses"),
    ("person", "people"),
    ("sheep", "sheep"),
    ("wind turbine", "wind turbines"),
]


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return message


@pytest.mark.parametrize(("one", "many"), FORMS)
def test_plural(one: str, many: str) -> None:
    assert plural(one) == many


@pytest.mark.parametrize(("one", "many"), FORMS)
def test_plural_of_plural_is_unchanged(one: str, many: str) -> None:
    assert plural(many) == many


@pytest.mark.parametrize(("one", "many"), FORMS)
def test_singular(one: str, many: str) -> None:
    assert singular(many) == one


@pytest.mark.parametrize(("one", "many"), FORMS)
def test_singular_of_singular_is_unchanged(one: str, many: str) -> None:
    assert singular(one) == one


@pytest.mark.parametrize("obj", ["storage tank", "storage tanks", "  storage   tanks "])
def test_count_prompts_storage_tanks(obj: str) -> None:
    prompts = count_prompts(obj)
    assert len(prompts) == 10
    assert prompts[0] == "a satellite photo of one storage tank."
    assert prompts[1] == "a satellite photo of two storage tanks."
    assert prompts[2] == "a satellite photo of three storage tanks."
    assert prompts[9] == "a satellite photo of ten storage tanks."
    assert [p.split()[4] for p in prompts] == list(NUMBER_WORDS)


@pytest.mark.parametrize(("one", "many"), FORMS)
def test_count_prompts_every_form(one: str, many: str) -> None:
    for given in (one, many):
        prompts = count_prompts(given)
        assert len(prompts) == 10
        assert prompts[0] == f"a satellite photo of one {one}."
        assert prompts[2] == f"a satellite photo of three {many}."


def test_count_prompts_custom_template() -> None:
    assert count_prompts("ship", "{} {} in the harbour")[3] == "four ships in the harbour"


@pytest.mark.parametrize("obj", ["", "   ", "\n\t"])
def test_count_prompts_empty(obj: str) -> None:
    with pytest.raises(UserError) as exc:
        count_prompts(obj)
    one_line(exc.value)


def test_clean_phrases_collapses_whitespace() -> None:
    assert clean_phrases(["  storage   tanks\n", "", "  ", "ship"]) == ["storage tanks", "ship"]


def test_clean_phrases_single_string_is_one_phrase() -> None:
    # text_search(store, model, "storage tanks") must search for the phrase, not for its letters.
    assert clean_phrases("storage tanks") == ["storage tanks"]
    assert clean_phrases("  oil   tank ") == ["oil tank"]


@pytest.mark.parametrize("phrases", [[], [""], ["   "], ["\n", "\t "]])
def test_clean_phrases_empty(phrases: list[str]) -> None:
    with pytest.raises(UserError) as exc:
        clean_phrases(phrases)
    assert "empty" in one_line(exc.value)


def test_clean_phrases_too_long() -> None:
    with pytest.raises(UserError) as exc:
        clean_phrases(["x" * 10_000])
    message = one_line(exc.value)
    assert "10000" in message and str(MAX_QUERY_CHARS) in message
    assert len(message) < 200, "the error must not echo the oversized text"
    assert clean_phrases(["y" * MAX_QUERY_CHARS]) == ["y" * MAX_QUERY_CHARS]


@pytest.mark.parametrize("phrase", ["储油罐", "резервуар для нефти", "خزان نفط", "貯蔵タンク", "Öltank"])
def test_non_latin_phrases_pass_through(phrase: str) -> None:
    assert clean_phrases([f"  {phrase} "]) == [phrase]


def test_parse_class_list_from_text_and_list() -> None:
    assert parse_class_list("forest, river , storage tank") == ["forest", "river", "storage tank"]
    assert parse_class_list(["forest", "  river  "]) == ["forest", "river"]
    assert parse_class_list("forest,,river,") == ["forest", "river"]
    assert parse_class_list("森林, 河流") == ["森林", "河流"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("  ,  , ", "empty"),
        ("forest", "two"),
        (["forest"], "two"),
        ("forest, Forest", "twice"),
        ("River,forest,RIVER", "twice"),
        (["storage  tank", "Storage tank"], "twice"),
        ("forest," + "x" * 10_000, "too long"),
    ],
)
def test_parse_class_list_errors(text, words: str) -> None:
    with pytest.raises(UserError) as exc:
        parse_class_list(text)
    assert words in one_line(exc.value)


# ------------------------------------------------------------- parity with the hand-written ensembling
# The hand-written averaging these functions had before open_clip's build_zero_shot_classifier took
# over: every text's unit vector averaged, then normalised.


def apply_templates(phrase, templates):
    return [t.format(phrase) for t in templates]

TEMPLATE_SETS = [DEFAULT_TEMPLATES, ("a satellite photo of {}.", "an aerial image of {}.", "{} seen from above.")]


def _old_class_embeddings(model, classes, templates):
    per_class = [model.encode_texts(apply_templates(c, templates)).numpy().mean(axis=0) for c in classes]
    v = np.stack(per_class)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _old_phrase_embedding(model, phrases, templates):
    texts = [t for p in clean_phrases(phrases) for t in apply_templates(p, templates)]
    v = model.encode_texts(texts).numpy().mean(axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


@pytest.fixture(scope="module")
def small_model():
    from backend.models.factory import load_model

    return load_model("remoteclip-qgis-small", device="cpu")


@pytest.mark.parametrize("templates", TEMPLATE_SETS)
@pytest.mark.parametrize("which", ["tiny", "small"])
def test_class_embeddings_match_the_hand_written_ensembling(tiny_model, small_model, which, templates) -> None:
    model = tiny_model if which == "tiny" else small_model
    classes = [f"class {i}" for i in range(12)] + ["storage tank", "farmland", "lake"]  # > 10: two batches
    new = class_embeddings(model, classes, templates)
    assert new.dtype == np.float32 and new.shape == (len(classes), model.embed_dim)
    np.testing.assert_allclose(new, _old_class_embeddings(model, classes, templates), atol=2e-6)


@pytest.mark.parametrize("which", ["tiny", "small"])
def test_phrase_embedding_matches_the_hand_written_average(tiny_model, small_model, which) -> None:
    model = tiny_model if which == "tiny" else small_model
    for phrases in (["lake"], ["lake", "pond", "reservoir"]):
        for templates in TEMPLATE_SETS:
            new = phrase_embedding(model, phrases, templates)
            old = _old_phrase_embedding(model, phrases, templates)
            if len(phrases) == 1 or len(templates) == 1:
                np.testing.assert_allclose(new, old, atol=2e-6)  # the same average
            else:
                # Several phrases in several templates: each phrase's ensemble is normalised before the
                # phrases are averaged (equal weight per phrase), so the two differ by that rescaling.
                assert float(new @ old) > 0.999
