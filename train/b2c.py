"""``python -m train.b2c`` (and ``torchrun -m train.b2c``): the command of :mod:`train.conversion.b2c`."""

import sys

from .conversion.b2c import main

if __name__ == "__main__":
    sys.exit(main())
