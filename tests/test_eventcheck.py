"""The recorded files of a large replay read by a helper process alongside hookkit's (hookkit.checks.eventcheck).

The helper is the real program (strictjson.py under this interpreter, isolated); the tests lower
``WORTH`` so a few files are enough to start it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hookkit import HookRegistry
from hookkit.checks import eventcheck, eventfiles, recorded, strictjson
from hookkit.checks.eventcheck import Helper
from hookkit.checks.eventfiles import event_payload
from hookkit.checks.recorded import deferred_reading, read_events, recorded_events
from hookkit.core.errors import ConfigurationError
from hookkit.core.registry import Check

#: Files the strict reading refuses, each for its own reason, and files it accepts.
REFUSED = {
    "duplicate": b'{"a": 1, "a": 2}',
    "nan": b'{"a": NaN}',
    "huge": b'{"a": 1e400}',
    "syntax": b'{"a": 1,}',
    "latin1": b'{"a": "caf\xe9"}',
    "deep": b"[" * 5000 + b"]" * 5000,
    "digits": b'{"a": ' + b"9" * 5000 + b"}",
}
ACCEPTED = {
    "plain": b'{"a": [1, 2.5, "x", null, true]}',
    "bom": b'\xef\xbb\xbf{"a": 1}',
    "scalar": b"42",
}


@pytest.fixture
def worth(monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper for as few as 2 files (and as if the machine had 2 CPUs, which a CI runner may not)."""
    monkeypatch.setattr(eventcheck, "WORTH", 2)
    monkeypatch.setattr(eventcheck, "usable_cpus", lambda: 2)


@dataclass
class Mode:
    name: str
    handed: list[bool]  # "patient": for each event, whether the helper handed it over


@pytest.fixture(params=["racing", "patient"])
def helper_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, worth: None) -> Mode:
    """"racing": as in a run (hookkit's process and the helper meet wherever they do); "patient":
    hookkit's process waits until the helper has read everything, so every good file comes from it."""
    mode = Mode(str(request.param), [])
    if mode.name == "patient":
        real_take = Helper.take

        def take(self: Helper, index: int) -> tuple[bytes, bytes | None] | None:
            while self._open:
                self._collect()
            got = real_take(self, index)
            mode.handed.append(got is not None)
            return got

        monkeypatch.setattr(Helper, "take", take)
    return mode


def replay_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir()
    for name, data in files.items():
        (folder / f"{name}.json").write_bytes(data)
    return folder


def listed(folder: Path) -> list[Check]:
    with deferred_reading():
        return recorded_events(folder, registry=HookRegistry())


def sequential_problems(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """What read_events says without a helper."""
    with monkeypatch.context() as m:
        m.setattr(eventcheck, "WORTH", 10**9)
        with pytest.raises(ConfigurationError) as info:
            read_events(listed(folder))
    return str(info.value)


def run_helper(pairs: list[tuple[Path, Path | None]], digits: int = 4300, recursion: int = 1000,
               max_bytes: int = 6 * 1024 * 1024) -> list[tuple[int, int, bytes, bytes]]:
    """The program's output for ``pairs``: (index, flags, event bytes, expect bytes) per event, in its order."""
    listing = b"\0".join(bytes(path) if path else b"" for pair in pairs for path in pair)
    limits = [str(digits), str(recursion), str(max_bytes)]
    done = subprocess.run([sys.executable, "-I", "-S", strictjson.__file__, *limits], input=listing,
                          capture_output=True, check=True)
    out, at, found = done.stdout, 0, []
    while at < len(out):
        index, flags, event_length, expect_length = strictjson.FILES.unpack_from(out, at)
        at += strictjson.FILES.size
        event_end = at + event_length
        found.append((index, flags, out[at:event_end], out[event_end:event_end + expect_length]))
        at = event_end + expect_length
    return found


def test_the_helper_hands_over_exactly_what_the_strict_reading_accepts(tmp_path: Path) -> None:
    """Run as a program: from the last event back, the bytes of each event hookkit's own reading
    accepts (and of its expect file); nothing for one it refuses or a file it cannot read."""
    pairs: list[tuple[Path, Path | None]] = []
    for name, data in {**REFUSED, **ACCEPTED}.items():
        pairs.append((tmp_path / f"{name}.json", tmp_path / f"{name}.expect.json" if name == "plain" else None))
        pairs[-1][0].write_bytes(data)
    (tmp_path / "plain.expect.json").write_bytes(b'{"status": 200}')
    pairs.append((tmp_path / "missing.json", None))
    pairs.append((tmp_path / "bom.json", tmp_path / "missing.expect.json"))  # an expect file it cannot read

    found = run_helper(pairs)

    assert [index for index, *_ in found] == list(range(len(pairs) - 1, -1, -1))  # from the last back
    for index, flags, event, expect in found:
        path, expect_path = pairs[index]
        try:
            event_payload(path)
            here = True
        except (ConfigurationError, OSError):
            here = False
        handed = bool(flags & strictjson.STRICT)
        assert handed == (here and (expect_path is None or expect_path.exists())), path
        assert event == (path.read_bytes() if handed else b"")
        assert bool(flags & strictjson.EXPECT) == (handed and expect_path is not None)
        assert expect == (expect_path.read_bytes() if handed and expect_path else b"")
    assert {pairs[i][0].stem for i, flags, _, _ in found if flags} == {*ACCEPTED}


def test_the_helper_is_no_more_lenient_than_the_python_that_asks(tmp_path: Path) -> None:
    """Isolated mode resets the limits on integer digits and nesting; the helper gets hookkit's own,
    and hookkit's largest event."""
    (tmp_path / "a.json").write_bytes(b"[" * 500 + b"]" * 500)
    (tmp_path / "b.json").write_bytes(b"1" * 1000)
    (tmp_path / "c.json").write_bytes(b"[" * 10 + b"1" * 600 + b"]" * 10)
    (tmp_path / "d.json").write_bytes(b'"' + b"x" * 2000 + b'"')
    found = run_helper([(tmp_path / f"{n}.json", None) for n in "abcd"], digits=640, recursion=300, max_bytes=1000)
    # c passes; b has more digits, a more nesting, d more bytes than allowed
    assert [(index, flags) for index, flags, _, _ in found] == [(3, 0), (2, strictjson.STRICT), (1, 0), (0, 0)]


def test_a_large_replay_is_read_with_the_helper_and_every_file_is_checked(
    tmp_path: Path, helper_mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"e{n:03d}": json.dumps({"n": n}).encode() for n in range(300)}
    checks = listed(replay_folder(tmp_path / "events", files))
    started: list[Any] = []
    real_start = Helper.start

    def start(cls: type[Helper], files: Any) -> Helper | None:
        started.append(files)
        return real_start(files)

    monkeypatch.setattr(Helper, "start", classmethod(start))
    read_events(checks)
    assert len(started) == 1 and len(started[0]) == 300
    if helper_mode.name == "patient":
        assert helper_mode.handed == [True] * 300, "hookkit read a file again that the helper had read"
    for check in checks:
        replay = check.func
        assert isinstance(replay, recorded.Replay)
        assert replay.payload == files[check.name.rpartition("/")[2]]


@pytest.mark.parametrize("where", [0, 150, 299])
def test_broken_files_are_said_as_without_the_helper(
    tmp_path: Path, helper_mode: Mode, monkeypatch: pytest.MonkeyPatch, where: int
) -> None:
    """Wherever a broken file is (checked here or by the helper), the error is word for word the same."""
    files = {f"e{n:03d}": b'{"n": %d}' % n for n in range(300)}
    broken = dict(files)
    names = sorted(files)
    broken[names[where]] = REFUSED["duplicate"]
    broken[names[(where + 7) % 300]] = REFUSED["latin1"]
    folder = replay_folder(tmp_path / "events", broken)
    (folder / f"{names[(where + 20) % 300]}.expect.json").write_text('{"status": 99}')
    (folder / f"{names[where]}.expect.json").write_text('{"status": 99}')  # the event's problem is said instead
    expected = sequential_problems(folder, monkeypatch)
    assert expected.startswith("3 recorded event file(s) cannot be used"), expected
    with pytest.raises(ConfigurationError) as info:
        read_events(listed(folder))
    assert str(info.value) == expected


def test_an_event_too_large_is_said_as_without_the_helper(
    tmp_path: Path, helper_mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper refuses what hookkit refuses (an event past Lambda's payload limit), and hookkit words it."""
    monkeypatch.setattr(eventcheck, "MAX_EVENT_BYTES", 100)
    monkeypatch.setattr(eventfiles, "MAX_EVENT_BYTES", 100)
    files = {f"e{n}": b"{}" for n in range(5)}
    files["e0"] = b'"' + b"x" * 200 + b'"'
    folder = replay_folder(tmp_path / "events", files)
    expected = sequential_problems(folder, monkeypatch)
    assert "larger than 100 bytes" in expected
    with pytest.raises(ConfigurationError) as info:
        read_events(listed(folder))
    assert str(info.value) == expected


def test_without_a_helper_nothing_is_lost(tmp_path: Path, worth: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper that cannot start, or dies at once, leaves every file to hookkit's process."""
    files = {f"e{n}": b"{}" for n in range(5)}
    files["e3"] = REFUSED["nan"]
    folder = replay_folder(tmp_path / "events", files)
    expected = sequential_problems(folder, monkeypatch)
    for executable in ("/nonexistent/python", "/bin/false"):
        monkeypatch.setattr(sys, "executable", executable)
        with pytest.raises(ConfigurationError) as info:
            read_events(listed(folder))
        assert str(info.value) == expected


def test_few_files_or_one_cpu_start_no_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventcheck, "usable_cpus", lambda: 2)
    assert Helper.start([("x.json", None)] * (eventcheck.WORTH - 1)) is None
    monkeypatch.setattr(eventcheck, "usable_cpus", lambda: 1)
    assert Helper.start([("x.json", None)] * eventcheck.WORTH) is None
