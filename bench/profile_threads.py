"""Profile a command across all its threads with cProfile (which alone sees only the main thread).

    python bench/profile_threads.py OUT.pstats -m hookkit run CHECKS --target ...
    python bench/profile_threads.py OUT.pstats path/to/script.py ARGS...

hookkit runs checks in worker threads, so a plain ``python -m cProfile`` shows the main thread
waiting and nothing else (a local function's own code runs in its environments' processes, which
this does not profile). Here every thread gets its own profiler, and
the stats of all of them are merged into OUT.pstats when the command ends; read it with
``python -m pstats OUT.pstats`` (``sort tottime``, ``stats 30``).
"""

from __future__ import annotations

import atexit
import cProfile
import pstats
import runpy
import sys
import threading

_profilers: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profiled_run(original):
    def run(self: threading.Thread) -> None:
        profiler = cProfile.Profile()
        with _lock:
            _profilers.append(profiler)
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    return run


def _dump(path: str) -> None:
    with _lock:
        profilers = list(_profilers)
    stats = None
    for profiler in profilers:
        profiler.create_stats()  # a thread still running (a daemon) is read as it stands
        if not profiler.stats:
            continue
        if stats is None:
            stats = pstats.Stats(profiler)
        else:
            stats.add(profiler)
    if stats is not None:
        stats.dump_stats(path)
        print(f"profile of {len(profilers)} thread(s) written to {path}", file=sys.stderr)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    out, *command = argv
    threading.Thread.run = _profiled_run(threading.Thread.run)  # type: ignore[method-assign]
    main_profiler = cProfile.Profile()
    _profilers.append(main_profiler)
    atexit.register(_dump, out)
    main_profiler.enable()
    try:
        if command[0] == "-m":
            sys.argv = [command[1], *command[2:]]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = command
            runpy.run_path(command[0], run_name="__main__")
    finally:
        main_profiler.disable()


if __name__ == "__main__":
    main(sys.argv[1:])
