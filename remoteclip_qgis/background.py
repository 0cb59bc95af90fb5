"""A blocking call (an HTTP request to the backend) run off Qt's main thread, its answer handed back by a signal.

The widget waiting for the answer may be closed before it comes: delivering to a deleted Qt object raises
RuntimeError, and then nobody is left to tell, so the answer is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def in_background(name: str, compute: Callable[[], Any], deliver: Callable[[Any], None]) -> threading.Thread:
    """Start a daemon thread ``name`` that runs ``compute()`` and passes its result to ``deliver`` (emitting a
    relay's signal, so the main thread receives it); returns the started thread."""

    def work() -> None:
        answer = compute()
        try:
            deliver(answer)
        except RuntimeError:  # the receiver was deleted meanwhile
            pass

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread
