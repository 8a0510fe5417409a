"""``python -m mlrsnet``: the same command line as ``mlrsnet``."""

import sys

from .cli import main

sys.exit(main())
