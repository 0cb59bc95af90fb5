"""``python -m backend``: the headless CLI."""

import sys

from .cli import main

sys.exit(main())
