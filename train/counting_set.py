"""``python -m train.counting_set`` (also under torchrun): the command of :mod:`train.benchmarks.counting_set`."""

import sys

from .benchmarks.counting_set import main

if __name__ == "__main__":
    sys.exit(main())
