"""``python -m train.small_model`` (also under torchrun): the command of :mod:`train.pretraining.small_model`."""

import sys

from .pretraining.small_model import main

if __name__ == "__main__":
    sys.exit(main())
