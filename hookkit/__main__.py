"""``python -m hookkit`` is the ``hookkit`` command."""

import sys

from .ci.cli import main

sys.exit(main())
