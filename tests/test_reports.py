"""What a CI run shows and writes: the table, -v, progress in a log, JUnit, GitHub's annotations and summary."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hookkit.ci import github
from hookkit.ci.cli import main
from hookkit.ci.progress import Progress
from hookkit.ci.reports import Report, details, render_value, table, to_junit
from hookkit.core.errors import Difference
from hookkit.core.outcome import Outcome, RunResult, Status
from hookkit.core.phases import Phase

HERE = Path(__file__).parent / "fixtures" / "cli"
GOOD = f"local:{HERE / 'template.yaml'}#ItemsFunction"
PRE = Phase.BEFORE_ALLOW_TRAFFIC
LONG = "the answer was not what the check expected: " + "x" * 300 + " END"


pytestmark = pytest.mark.usefixtures("fresh_default_registry")


def outcome(name: str, status: Status = Status.FAILED, **kwargs) -> Outcome:
    return Outcome(name=name, phase=PRE, status=status, attempts=1, **kwargs)


def report(*outcomes: Outcome, sources=None) -> Report:
    return Report((RunResult.from_outcomes(PRE, outcomes),), sources=sources or {})


def differences(n: int) -> tuple[Difference, ...]:
    return tuple(Difference(f"/items/{i}", None, True) for i in range(n))


def expectation_message(found: tuple[Difference, ...]) -> str:
    """The message ExpectationFailed writes: the subject, then each difference in Python's repr."""
    return f"invoke f:1 with e: {len(found)} difference(s)\n" + "\n".join(f"  - {d}" for d in found)


@pytest.mark.parametrize("value, shown", [
    (None, "null"), (True, "true"), ("hi", '"hi"'), ({"a": [1, None]}, '{"a": [1, null]}'), ("é", '"é"'),
])
def test_values_read_as_json(value, shown) -> None:
    assert render_value(value) == shown


def test_the_table_shows_differences_as_json_and_cuts_only_when_given_a_width() -> None:
    found = differences(5)
    r = report(outcome("many", differences=found, message=expectation_message(found)), outcome("long", message=LONG))
    whole = table(r)
    assert "5 difference(s): /items/0: expected null, got true; /items/1: expected null, got true; " in whole
    assert "; ..." in whole and LONG in whole and "None" not in whole
    cut = table(r, width=80)
    assert LONG not in cut and "…" in cut
    assert all(len(line) <= 80 for line in cut.splitlines()[:4])


def test_details_show_every_message_and_difference_in_full_each_once() -> None:
    found = differences(5)
    multi = "first line of the story\nsecond line with the fix: pass --current"
    r = report(outcome("many", differences=found, message=expectation_message(found)),
               outcome("multi", Status.ERROR, message=multi), outcome("ok", Status.PASSED),
               sources={(PRE, "many"): (str(Path.cwd() / "checks.py"), 7)})
    text = details(r)
    assert "many (pre): failed after 1 attempt(s) - checks.py:7" in text
    assert all(text.count(f"/items/{i}: expected null, got true") == 1 for i in range(5))
    assert "/items/0: expected None" not in text  # the message's own copy in Python's repr is dropped
    assert "second line with the fix: pass --current" in text and "ok (pre)" not in text


def test_junit_holds_each_difference_once_and_marks_what_is_not_blocking() -> None:
    found = differences(2)
    r = report(outcome("many", differences=found, message=expectation_message(found)),
               outcome("optional", message="meh", blocking=False),
               outcome("misconfigured", Status.ERROR, message="ConfigurationError: pass --current", configuration=True),
               sources={(PRE, "many"): ("/somewhere/else/checks.py", 3)})
    suite = to_junit(r).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["many"].find("failure")
    assert failure.get("message") == "invoke f:1 with e: 2 difference(s)"
    assert failure.text.count("/items/0: expected null, got true") == 1 and "None" not in failure.text
    assert (cases["many"].get("file"), cases["many"].get("line")) == ("/somewhere/else/checks.py", "3")
    assert cases["optional"].find("properties/property").attrib == {"name": "hookkit.blocking", "value": "false"}
    assert cases["misconfigured"].find("error").get("type") == "configuration"


def test_in_a_log_progress_is_a_summary_every_few_seconds_not_a_line_per_check() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, total=10_000, interval=5.0, clock=lambda: now[0])
    for n in range(10_000):
        now[0] = n * 0.002  # 20 s in all
        progress.update(outcome(f"c{n}", Status.PASSED if n % 1000 else Status.FAILED))
    progress.done()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4  # at 5, 10 and 15 s, and at the end
    assert lines[0] == "2,501/10,000 checks done, 3 not passed, 5 s"
    assert lines[-1] == "10,000/10,000 checks done, 10 not passed, 20 s"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_line_is_rewritten_in_place() -> None:
    stream = Terminal()
    progress = Progress(stream, total=2)
    progress.update(outcome("a", Status.PASSED))
    progress.update(outcome("b"))
    progress.done()
    assert stream.getvalue().count("\r\033[K") == 3 and "\n" not in stream.getvalue()
    assert "[2/2] failed    b  (1 not passed)" in stream.getvalue()


def long_checks(tmp_path: Path) -> Path:
    checks = tmp_path / "checks.py"
    checks.write_text(
        "from hookkit import pre_traffic\n\n\n"
        f"@pre_traffic\ndef tells_a_long_story():\n    raise AssertionError({LONG!r})\n"
    )
    return checks


def test_a_ci_log_keeps_every_message_whole(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["run", str(long_checks(tmp_path))]) == 1
    assert LONG in capsys.readouterr().out


@pytest.mark.parametrize("verbose", [False, True])
def test_a_terminal_cuts_the_table_to_its_width_unless_verbose(tmp_path, monkeypatch, verbose) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert main(["run", str(long_checks(tmp_path)), *(["-v"] if verbose else [])]) == 1
    out = terminal.getvalue()
    assert (LONG in out) is verbose
    assert ("tells_a_long_story (pre): failed after 1 attempt(s) - " in out) is verbose


# --- GitHub Actions ----------------------------------------------------------------------------------


def test_workflow_command_escaping_follows_githubs_rules() -> None:
    assert github.escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = github.command("error", "two\nlines", file="dir/a,b.py", line="3", title="x: y")
    assert line == "::error file=dir/a%2Cb.py,line=3,title=x%3A y::two%0Alines"


def github_env(monkeypatch, tmp_path: Path) -> Path:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/orders")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    return summary


def test_on_github_failed_checks_are_annotated_at_their_line_and_summarised(capsys, tmp_path, monkeypatch) -> None:
    summary = github_env(monkeypatch, tmp_path)
    checks = tmp_path / "hooks" / "checks.py"
    checks.parent.mkdir()
    checks.write_text(
        "from hookkit import pre_traffic\n\n\n"
        "@pre_traffic\ndef greets(target):\n"
        "    target.invoke({'name': 'ci'}).expect(fields={'/greeting': 'hi, 100%'})\n\n\n"
        "@pre_traffic(blocking=False)\ndef optional():\n    return False\n\n\n"
        "@pre_traffic\ndef fine():\n    pass\n"
    )
    assert main(["run", str(checks), "--target", GOOD]) == 1
    out = capsys.readouterr().out
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=hooks/checks.py,line=4,title=hookkit%3A BeforeAllowTraffic check greets failed::"
        "invoke local-ItemsFunction:local with an inline event: 1 difference(s)%0A"
        '/greeting: expected "hi, 100%25", got "hello ci"',
        "::warning file=hooks/checks.py,line=9,title=hookkit%3A BeforeAllowTraffic check optional failed::"
        "the check returned False",
    ]
    text = summary.read_text()
    assert text.startswith("earlier step\n\n## hookkit run\n")  # appended, never overwritten
    assert "| BeforeAllowTraffic | ❌ Failed | 3 | 2 |" in text
    link = "[hooks/checks.py:4](https://github.com/acme/orders/blob/abc123/hooks/checks.py#L4)"
    assert f"| greets | pre | failed | {link} |" in text
    assert "optional (non-blocking)" in text


def test_more_failures_than_github_shows_are_counted_not_dropped_silently(capsys, tmp_path, monkeypatch) -> None:
    summary = github_env(monkeypatch, tmp_path)
    checks = tmp_path / "checks.py"
    checks.write_text("from hookkit import pre_traffic\n\nfor n in range(13):\n"
                      "    pre_traffic(name=f'c{n:02}')(lambda: False)\n")
    assert main(["run", str(checks)]) == 1
    out = capsys.readouterr().out
    assert sum(line.startswith("::error ") for line in out.splitlines()) == 10
    assert "hookkit: 3 more check(s) did not pass than GitHub annotates per step" in out
    assert len(re.findall(r"^\| c\d\d \| pre \| failed \|", summary.read_text(), re.M)) == 13


def test_an_unwritable_step_summary_is_refused_before_the_run(capsys, tmp_path, monkeypatch) -> None:
    github_env(monkeypatch, tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a folder
    ran = tmp_path / "ran"
    checks = tmp_path / "checks.py"
    checks.write_text(f"from pathlib import Path\nfrom hookkit import pre_traffic\n\n"
                      f"@pre_traffic\ndef marks():\n    Path({str(ran)!r}).touch()\n")
    assert main(["run", str(checks)]) == 2
    assert "GITHUB_STEP_SUMMARY" in capsys.readouterr().err and not ran.exists()


def test_outside_github_nothing_is_annotated(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text("from hookkit import pre_traffic\n\n@pre_traffic\ndef no():\n    return False\n")
    assert main(["run", str(checks), "--json", str(tmp_path / "o.json")]) == 1
    assert "::error" not in capsys.readouterr().out
    assert json.loads((tmp_path / "o.json").read_text())["passed"] is False


def test_junit_is_well_formed_xml_whatever_characters_a_check_says(tmp_path) -> None:
    """XML 1.0 forbids most control characters; CI systems refuse the whole file over one of them."""
    from hookkit.ci.merge import read_report
    from hookkit.ci.reports import write_junit

    said = "colour \x1b[31mred\x1b[0m, a \x00 nul, a \x0c form feed, \x7f, a lone \udcff and \ufffe"
    name = "odd\x01name"
    r = Report((RunResult.from_outcomes(PRE, [
        outcome(name, message=said, differences=(Difference("/a\x02", "\x03", None),)),
        outcome("ok", Status.PASSED),
    ]),), plan="p" * 64, planned=2, sources={(PRE, name): ("/x/che\x1bcks.py", 4)})
    path = write_junit(r, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()  # the point: this parses (expat is as strict as GitLab and Jenkins)
    case = root.find("testsuite/testcase")
    failure = case.find("failure")
    assert failure.get("message").startswith("colour red, a \\x00 nul")
    assert "\\x00 nul" in failure.text and "[31m" not in failure.text and "\\udcff" in failure.text
    assert case.get("name") == "odd\\x01name" and case.get("file") == "/x/che\\x1bcks.py"
    assert [o.status for o in read_report(str(path)).outcomes] == [Status.FAILED, Status.PASSED]  # merge reads it


def test_a_blocking_check_that_never_ran_is_a_junit_error_not_a_skip(tmp_path) -> None:
    """A blocking check skipped at the deadline fails its phase; CI must not show it as a harmless skip."""
    from hookkit.ci.merge import read_report
    from hookkit.ci.reports import write_junit

    why = "not started: the run's --deadline of 1 s came first"
    r = report(outcome("never_ran", Status.SKIPPED, message=why),
               outcome("optional", Status.SKIPPED, message=why, blocking=False), outcome("ok", Status.PASSED))
    assert r.exit_code == 1
    root = to_junit(r).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    error = cases["never_ran"].find("error")
    assert error is not None and cases["never_ran"].find("skipped") is None
    assert why in error.get("message") and error.get("type") == "skipped"
    assert cases["optional"].find("skipped") is not None and cases["optional"].find("error") is None
    for counted in (root, root.find("testsuite")):
        assert (counted.get("errors"), counted.get("skipped")) == ("1", "1")
    back = read_report(str(write_junit(r, tmp_path / "j.xml")))  # hookkit merge still sees what it was
    assert [(o.name, o.status, o.blocking) for o in back.outcomes] == [
        ("never_ran", Status.SKIPPED, True), ("optional", Status.SKIPPED, False), ("ok", Status.PASSED, True),
    ]
    assert back.outcomes[0].message == why


def test_the_step_summary_redacts_a_phases_reason_as_the_table_and_json_do() -> None:
    from hookkit.ci.reports import to_json
    from hookkit.core.outcome import Verdict

    secret = "Authorization: Bearer s3cr3t-t0ken"
    result = RunResult(PRE, (outcome("broke", Status.ERROR, message="no"),), Verdict.FAILED,
                       f"the phase could not run: {secret}")
    r = Report((result,))
    assert "s3cr3t-t0ken" not in table(r) and "s3cr3t-t0ken" not in json.dumps(to_json(r))  # as they always were
    text = github.step_summary(r, {})
    assert "s3cr3t-t0ken" not in text and "the phase could not run: Authorization: Bearer [REDACTED]" in text
