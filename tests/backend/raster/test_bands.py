"""Band mapping: parsing --bands and choosing R, G, B from colour interpretation."""

from __future__ import annotations

import itertools

import pytest

from backend.errors import UserError
from backend.raster.bands import BandChoice, choose_bands, parse_bands


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3,2,1", (3, 2, 1)), ("1", (1,)), (" 4, 3 ,2 ", (4, 3, 2)), ("12", (12,)), ("1,1,1", (1, 1, 1))],
)
def test_parse_bands(text: str, expected: tuple[int, ...]) -> None:
    assert parse_bands(text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "\t"])
def test_parse_bands_empty_means_automatic(text: str | None) -> None:
    assert parse_bands(text) is None


@pytest.mark.parametrize("text", ["a,b,c", "3;2;1", "1.5", "red", "3,,1", "3,2,1,", "x\ny"])
def test_parse_bands_bad_text(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_bands(text)
    message = str(info.value)
    assert "--bands" in message
    assert "\n" not in message, "a UserError must be one line"


@pytest.mark.parametrize("text", ["3,2", "1,2,3,4", "4,3,2,1,5"])
def test_parse_bands_wrong_count(text: str) -> None:
    with pytest.raises(UserError, match="1 or 3"):
        parse_bands(text)


@pytest.mark.parametrize("order", list(itertools.permutations(["red", "green", "blue"])))
def test_rgb_tags_in_any_order(order: tuple[str, str, str]) -> None:
    names = list(order)
    choice = choose_bands(names, 3)
    assert isinstance(choice, BandChoice)
    assert choice.bands == (names.index("red") + 1, names.index("green") + 1, names.index("blue") + 1)


def test_rgb_tags_among_other_bands() -> None:
    # e.g. a Landsat-like stack with extra untagged bands around the visible ones
    names = ["undefined", "blue", "green", "red", "undefined", "undefined"]
    assert choose_bands(names, 6).bands == (4, 3, 2)


def test_rgb_tags_are_case_insensitive() -> None:
    assert choose_bands(["Blue", "GREEN", "Red"], 3).bands == (3, 2, 1)


def test_naip_gray_then_undefined() -> None:
    choice = choose_bands(["gray", "undefined", "undefined", "undefined"], 4)
    assert choice.bands == (1, 2, 3)
    assert "first three" in choice.reason


def test_alpha_dropped_from_rgba() -> None:
    assert choose_bands(["red", "green", "blue", "alpha"], 4).bands == (1, 2, 3)


def test_alpha_first_is_skipped_without_rgb_tags() -> None:
    assert choose_bands(["alpha", "undefined", "undefined", "undefined"], 4).bands == (2, 3, 4)


def test_gray_plus_alpha_replicates_gray() -> None:
    choice = choose_bands(["gray", "alpha"], 2)
    assert choice.bands == (1, 1, 1)
    assert "replicated" in choice.reason


def test_single_band_replicated() -> None:
    assert choose_bands(["gray"], 1).bands == (1, 1, 1)
    assert choose_bands(["undefined"], 1).bands == (1, 1, 1)


def test_two_data_bands_replicate_the_first() -> None:
    assert choose_bands(["undefined", "undefined"], 2).bands == (1, 1, 1)


def test_explicit_bands_win_over_tags() -> None:
    choice = choose_bands(["red", "green", "blue", "undefined"], 4, (4, 3, 2))
    assert choice.bands == (4, 3, 2)
    assert choice.reason == "--bands"
    assert choose_bands(["red", "green", "blue"], 3, (2,)).bands == (2, 2, 2)


@pytest.mark.parametrize(("explicit", "count"), [((0,), 3), ((4,), 3), ((1, 2, 5), 4), ((-1, 2, 3), 3),
                                                  ((3, 2, 1), 2)])
def test_explicit_out_of_range(explicit: tuple[int, ...], count: int) -> None:
    with pytest.raises(UserError) as info:
        choose_bands(["undefined"] * count, count, explicit)
    assert f"1 to {count}" in str(info.value)
    assert "\n" not in str(info.value)


def test_no_bands_is_user_error() -> None:
    with pytest.raises(UserError):
        choose_bands([], 0)
