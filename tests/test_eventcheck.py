"""The event files of a large replay checked by a helper process alongside hookkit's (hookkit.checks.eventcheck).

The helper is the real program (strictjson.py under this interpreter, isolated); the tests lower
``WORTH`` so a few files are enough to start it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from hookkit import HookRegistry
from hookkit.checks import eventcheck, recorded, strictjson
from hookkit.checks.eventcheck import Helper
from hookkit.checks.eventfiles import check_event
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


def test_the_helpers_verdicts_are_the_strict_reading_s(tmp_path: Path) -> None:
    """Run as a program, under the limits it is given, it accepts exactly what hookkit's own reading does."""
    files = {**REFUSED, **ACCEPTED}
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_bytes(data)
    paths.append(tmp_path / "missing.json")
    done = subprocess.run(
        [sys.executable, "-I", "-S", strictjson.__file__, "4300", "1000"],
        input=b"\0".join(bytes(p) for p in paths), capture_output=True, check=True,
    )
    verdicts = list(strictjson.VERDICT.iter_unpack(done.stdout))
    assert [index for index, _, _ in verdicts] == list(range(len(paths) - 1, -1, -1))  # from the last back
    for index, strict, crc in verdicts[1:]:
        data = paths[index].read_bytes()
        try:
            check_event(paths[index], data)
            here = True
        except ConfigurationError:
            here = False
        assert (paths[index].stem, bool(strict), here) == (paths[index].stem, *(paths[index].stem in ACCEPTED,) * 2)
        assert crc == zlib.crc32(data)
    assert verdicts[0][1:] == (0, 0)  # the missing file: not passed, hookkit's own read says why


def test_the_helper_is_no_more_lenient_than_the_python_that_asks(tmp_path: Path) -> None:
    """Isolated mode resets the limits on integer digits and nesting; the helper gets hookkit's own."""
    (tmp_path / "a.json").write_bytes(b"[" * 500 + b"]" * 500)
    (tmp_path / "b.json").write_bytes(b"1" * 1000)
    (tmp_path / "c.json").write_bytes(b"[" * 10 + b"1" * 600 + b"]" * 10)
    done = subprocess.run([sys.executable, "-I", "-S", strictjson.__file__, "640", "300"],
                          input=b"\0".join(bytes(tmp_path / n) for n in ("a.json", "b.json", "c.json")),
                          capture_output=True, check=True)
    verdicts = [(index, strict) for index, strict, _ in strictjson.VERDICT.iter_unpack(done.stdout)]
    assert verdicts == [(2, 1), (1, 0), (0, 0)]  # c passes; b has more digits, a more nesting, than allowed


def test_a_large_replay_is_read_with_the_helper_and_every_file_is_checked(
    tmp_path: Path, worth: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"e{n:03d}": json.dumps({"n": n}).encode() for n in range(300)}
    checks = listed(replay_folder(tmp_path / "events", files))
    started = []
    real_start = Helper.start
    monkeypatch.setattr(Helper, "start", classmethod(lambda cls, paths: started.append(paths) or real_start(paths)))
    read_events(checks)
    assert len(started) == 1 and len(started[0]) == 300
    for check in checks:
        replay = check.func
        assert isinstance(replay, recorded.Replay)
        assert replay.payload == files[check.name.rpartition("/")[2]]


@pytest.mark.parametrize("where", [0, 150, 299])
def test_broken_files_are_said_as_without_the_helper(
    tmp_path: Path, worth: None, monkeypatch: pytest.MonkeyPatch, where: int
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


def test_a_verdict_counts_only_for_the_bytes_it_was_given(tmp_path: Path, worth: None) -> None:
    """A file that changed after the helper checked it is checked again by hookkit's process."""
    paths = [tmp_path / f"{n}.json" for n in range(4)]
    for path in paths:
        path.write_bytes(b"{}")
    helper = Helper.start([str(p) for p in paths])
    assert helper is not None
    try:
        deadline = time.monotonic() + 30
        while not helper.passed(0, b"{}"):  # its verdicts come from the last file back
            assert time.monotonic() < deadline, "the helper sent no verdict for the first file"
            time.sleep(0.01)
        assert helper.passed(3, b"{}")
        assert not helper.passed(3, b'{"a": 1, "a": 2}')
    finally:
        helper.close()


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
    assert Helper.start(["x.json"] * (eventcheck.WORTH - 1)) is None
    monkeypatch.setattr(eventcheck, "usable_cpus", lambda: 1)
    assert Helper.start(["x.json"] * eventcheck.WORTH) is None
