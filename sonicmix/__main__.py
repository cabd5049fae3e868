"""``python -m sonicmix``: the command-line interface (see :mod:`sonicmix.cli`)."""

import sys

from sonicmix.cli import main

sys.exit(main())
