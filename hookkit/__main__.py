"""``python -m hookkit`` is the ``hookkit`` command."""

import sys

from .cli import main

sys.exit(main())
