"""Numbers the backend reads from environment variables, with one rule for all of them: unset or empty
gives the default; anything else must be a finite number (whole where asked) of at least ``minimum``, or
the user gets one line naming the variable, the unit and the value given."""

from __future__ import annotations

import math
import os

from .errors import UserError


def env_number(name: str, default: float | None, unit: str, minimum: float, whole: bool = False) -> float | None:
    """``$name`` as a number of ``unit`` (an int when ``whole``), else ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value: float | None = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise UserError(f"{name} must be {kind} of {unit} (at least {minimum:g}), got '{text}'")
    return value
