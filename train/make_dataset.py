"""``python -m train.make_dataset`` (also under torchrun): the command of :mod:`train.conversion.make_dataset`."""

import sys

from .conversion.make_dataset import main

if __name__ == "__main__":
    sys.exit(main())
