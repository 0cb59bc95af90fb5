"""``python -m train.export_model`` (also under torchrun): the command of :mod:`train.pretraining.export_model`."""

import sys

from .pretraining.export_model import main

if __name__ == "__main__":
    sys.exit(main())
