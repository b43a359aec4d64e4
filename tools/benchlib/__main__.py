"""``python -m benchlib``: what tools/bench runs."""

import sys

from .cli import main

sys.exit(main())
