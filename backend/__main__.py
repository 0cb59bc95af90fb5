"""``python -m backend``: the headless CLI."""

import sys

from .app.cli import main

sys.exit(main())
