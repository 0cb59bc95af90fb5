"""Text prompts: queries, class names and counting phrases turned into text embeddings."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from ..errors import UserError

DEFAULT_TEMPLATES = ("a satellite photo of {}.",)
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# Tokenizers truncate; this bounds what a client may send at all (characters).
MAX_QUERY_CHARS = 2000
# Each phrase is a text-encoder pass (times the templates): bounds the work one request can ask for.
MAX_PHRASES = 256
# Plurals the suffix rules get wrong, used in both directions: irregular ones, and singular nouns
# that end in -s ("bus" is not the plural of "bu").
IRREGULAR_PLURALS = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "leaf": "leaves",
    "sheep": "sheep", "aircraft": "aircraft", "fish": "fish", "deer": "deer", "series": "series",
    "species": "species", "chassis": "chassis", "bus": "buses", "gas": "gases", "lens": "lenses",
    "campus": "campuses", "canvas": "canvases", "status": "statuses", "virus": "viruses",
    "atlas": "atlases", "cactus": "cacti", "radius": "radii",
}
SINGULAR_OF = {many: one for one, many in IRREGULAR_PLURALS.items()}


def clean_phrases(phrases: Sequence[str], what: str = "query") -> list[str]:
    """Strip and validate user phrases; one clear error for an empty or oversized one."""
    if isinstance(phrases, str):
        phrases = [phrases]  # one phrase, not a sequence of letters
    cleaned = [" ".join(str(p).split()) for p in phrases]
    cleaned = [p for p in cleaned if p]
    if not cleaned:
        raise UserError(f"the {what} is empty: type what to look for, e.g. 'storage tanks'")
    if len(cleaned) > MAX_PHRASES:
        raise UserError(f"the {what} has {len(cleaned)} phrases: give at most {MAX_PHRASES}")
    for p in cleaned:
        if len(p) > MAX_QUERY_CHARS:
            raise UserError(f"a {what} of {len(p)} characters is too long (at most {MAX_QUERY_CHARS})")
    return cleaned


def parse_class_list(text: str | Sequence[str]) -> list[str]:
    """Class names from ``"forest, river, storage tank"`` or a list; duplicates are an error."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = clean_phrases(items, "class list")
    if len(names) < 2:
        raise UserError("zero-shot classification needs at least two class names, e.g. 'forest,river'")
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise UserError(f"class '{name}' is listed twice: give each class once")
        seen[name.lower()] = name
    return names


def class_embeddings(model, classes: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> np.ndarray:
    """``C x D`` float32 unit vectors, one per class, each averaged over the templates (CLIP's ensembling).

    ``model`` is a :class:`~backend.models.factory.LoadedModel`; open_clip's
    ``build_zero_shot_classifier`` does the ensembling (10 classes per text-encoder pass).
    """
    import open_clip

    from ..models.factory import text_threads

    device = getattr(model, "device", None)
    threads = text_threads(device, len(classes) * len(templates)) if device is not None else contextlib.nullcontext()
    with threads:
        weights = open_clip.build_zero_shot_classifier(
            model.model, model.tokenize, list(classes), list(templates), device=model.device)
    return weights.T.float().cpu().numpy()


def phrase_embedding(model, phrases: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> np.ndarray:
    """One float32 unit vector (D,) for several phrases: each phrase ensembled over the templates, then
    the phrases averaged (with one template, the same as averaging every text's unit vector)."""
    mean = class_embeddings(model, clean_phrases(phrases), templates).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def plural(noun: str) -> str:
    """English plural of the last word of ``noun`` ("storage tank" -> "storage tanks")."""
    words = noun.split()
    last = words[-1]
    lower = last.lower()
    if lower in IRREGULAR_PLURALS:
        last = IRREGULAR_PLURALS[lower]
    elif lower in SINGULAR_OF:
        pass  # already plural ("people", "buses")
    elif lower.endswith("s") and not lower.endswith("ss"):
        pass  # already plural ("storage tanks")
    elif lower.endswith(("ss", "sh", "ch", "x", "z")):
        last += "es"
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def singular(noun: str) -> str:
    """Rough singular of the last word, for "one storage tank" when given "storage tanks"."""
    words = noun.split()
    last = words[-1]
    lower = last.lower()
    if lower in SINGULAR_OF:
        last = SINGULAR_OF[lower]
    elif lower in IRREGULAR_PLURALS:
        pass  # already singular ("bus", "person")
    elif lower.endswith("ies") and len(lower) > 3:
        last = last[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes")):
        last = last[:-2]
    elif lower.endswith("s") and not lower.endswith("ss"):
        last = last[:-1]
    return " ".join(words[:-1] + [last])


def count_phrases(obj: str) -> list[str]:
    """The ten count phrases of an object, to put into prompt templates: "one storage tank", "two storage tanks"..."""
    return count_prompts(obj, "{} {}")


def count_prompts(obj: str, template: str = "a satellite photo of {} {}.") -> list[str]:
    """RemoteCount-style prompts for 1..10 of an object: "a satellite photo of three storage tanks."."""
    name = clean_phrases([obj], "object to count")[0]
    one, many = singular(name), plural(singular(name))
    return [template.format(word, one if n == 1 else many) for n, word in enumerate(NUMBER_WORDS, start=1)]
