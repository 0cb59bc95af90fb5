"""``python -m train.evaluate`` (also under torchrun): the command of :mod:`train.benchmarks.evaluate`."""

import sys

from .benchmarks.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
