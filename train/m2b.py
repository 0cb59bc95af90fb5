"""``python -m train.m2b`` (and ``torchrun -m train.m2b``): the command of :mod:`train.conversion.m2b`."""

import sys

from .conversion.m2b import main

if __name__ == "__main__":
    sys.exit(main())
