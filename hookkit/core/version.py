"""hookkit's version, in the layer every other module may import (the User-Agent, ``--version``)."""

__version__ = "0.1.0"
