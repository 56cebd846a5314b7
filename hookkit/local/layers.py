"""Where a local layer's content is, as the ``/opt`` folder Lambda extracts it to.

A function's :attr:`~hookkit.local.sam.FunctionSpec.layers` are folders that each play ``/opt``:
the worker running the function puts ``<root>/python`` (and its ``lib/pythonX.Y/site-packages``)
on ``sys.path``, as Lambda's Python runtime does.

A layer's folder is that root as written (a prebuilt layer holds ``python/...``) except for a
layer that ``sam build`` builds with a Python ``BuildMethod`` and that was not built: its folder
holds the modules and ``requirements.txt`` that the build puts *into* ``python/``. Such a folder
is given a root of its own, a private temporary folder whose ``python`` links to it, so the code
imports as it will once built (its requirements still have to be installed, or built).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

OPT_PYTHON = "python"  # what Lambda puts on sys.path from /opt

_lock = threading.Lock()
_roots: dict[Path, Path] = {}  # source folder -> the root made for it in this process


def is_unbuilt_python_layer(folder: Path, build_method: object) -> bool:
    """A layer ``sam build`` would build with pip whose folder has not been built."""
    return (
        isinstance(build_method, str) and build_method.startswith("python")
        and not (folder / OPT_PYTHON).is_dir()
    )


def root_for_source(folder: Path) -> Path:
    """A root whose ``python`` is ``folder``: how an unbuilt Python layer's code lands in ``/opt``.

    One per folder and process, in a private temporary folder removed when the process exits
    (the link only: the layer's files are left alone).
    """
    folder = folder.resolve()
    with _lock:
        root = _roots.get(folder)
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="hookkit-layer-"))
            atexit.register(shutil.rmtree, root, True)
            os.symlink(folder, root / OPT_PYTHON, target_is_directory=True)
            _roots[folder] = root
        return root
