"""``python -m train.benchmark`` (also under torchrun): the command of :mod:`train.benchmarks.benchmark`."""

import sys

from .benchmarks.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
