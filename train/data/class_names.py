"""Class names from annotation files turned into words for captions and prompts.

DIOR writes "storagetank" and "Expressway-Service-area", DOTA "storage-tank", UC Merced
"denseresidential": all become lower-case words ("storage tank", "expressway service area").
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words that occur glued together in the common remote-sensing class lists. A glued token is split
# only when it is made entirely of these words, so an unknown token ("windmill", "chaparral") is kept.
VOCABULARY = frozenset(
    """storage tank tanks expressway service area toll station ground track field baseball basketball
    court courts golf course train dense medium sparse residential mobile home park parking lot soccer ball
    swimming pool container crane large small vehicle vehicles diamond tennis river lake harbor bridge
    industrial commercial railway bare land farm farmland sea ice snow desert meadow mountain beach forest
    circular rectangular terrace thermal power plant wetland airport runway freeway intersection overpass
    church palace school square stadium viaduct center playground pond port resort""".split()
)


@lru_cache(maxsize=4096)
def _segment(token: str) -> tuple[str, ...] | None:
    """Split a glued lower-case token into vocabulary words (fewest words), or None."""
    if not token:
        return ()
    best: tuple[str, ...] | None = None
    for end in range(len(token), 1, -1):
        head = token[:end]
        if head in VOCABULARY:
            rest = _segment(token[end:])
            if rest is not None and (best is None or len(rest) + 1 < len(best)):
                best = (head, *rest)
    return best


def normalise_class_name(raw: str) -> str:
    """``"storagetank"`` -> ``"storage tank"``; ``"Expressway-Service-area"`` -> ``"expressway service area"``."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", raw.strip())  # camelCase
    tokens = [t for t in re.split(r"[\s_\-/]+", text.lower()) if t]
    words: list[str] = []
    for token in tokens:
        split = _segment(token) if token not in VOCABULARY else None
        words.extend(split if split and len(split) > 1 else [token])
    return " ".join(words)
