"""``python -m train.features`` (also under torchrun): the command of :mod:`train.benchmarks.features`."""

import sys

from .benchmarks.features import main

if __name__ == "__main__":
    sys.exit(main())
