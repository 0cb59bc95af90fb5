"""``python -m train.pretrain`` (also under torchrun): the command of :mod:`train.pretraining.pretrain`."""

import sys

from .pretraining.pretrain import main

if __name__ == "__main__":
    sys.exit(main())
