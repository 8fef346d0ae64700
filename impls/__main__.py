"""Entry point of ``python -m impls``."""

import sys

from impls.cli import main

sys.exit(main())
