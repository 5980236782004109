"""JUnit counting: reports written by real pytest and node runs, other tools' documented
shapes (fixtures), the rerun and precedence rules, and hostile input."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mergegate import junit_count
from mergegate.junit_count import (
    KEEP_FAILURES,
    MAX_MESSAGE_CHARS,
    Counts,
    JUnitError,
    Tally,
    count_bytes,
    count_reports,
)
from mergegate.summary_lines import parse_summary

FIXTURES = Path(__file__).parent / "fixtures" / "junit"

PYTEST_SUITE = """
import pytest

def test_pass_a():
    pass

def test_pass_b():
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n > 0

def test_fails():
    assert 1 + 1 == 3, "arithmetic is broken"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_setup_error(broken):
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False
"""

PYTEST_RERUN_SUITE = """
import os
import pathlib

MARK = pathlib.Path(os.environ["FLAKY_MARK"])

def test_flaky():
    if not MARK.exists():
        MARK.write_text("seen")
        assert False, "first attempt fails"

def test_always_fails():
    assert False, "every attempt fails"

def test_ok():
    pass
"""

NODE_SUITE = """
import { test, describe, it } from 'node:test';
import assert from 'node:assert';

test('top passes', () => {});
test('top fails', () => { assert.strictEqual(1, 2); });
test('skipped one', { skip: 'not now' }, () => {});
test('todo one', { todo: true }, () => {});
describe('group A', () => {
  it('works', () => {});
  describe('inner', () => { it('works', () => {}); });
});
describe('group B', () => {
  it('works', () => {});
  it('breaks', () => { throw new Error('bad <thing> & "x"'); });
});
describe('loop', () => {
  for (const n of [1, 2, 3]) it('same name', () => { assert.ok(n); });
});
"""


@dataclass(frozen=True)
class RunnerReport:
    xml: Path
    stdout: str
    returncode: int


def pytest_env(**extra: str) -> dict[str, str]:
    """A child pytest that loads only the plugins it is told to (-p), quickly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **extra}


def run_pytest(directory: Path, source: str, *args: str, **env: str) -> RunnerReport:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test_suite.py").write_text(textwrap.dedent(source))
    xml = directory / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-q",
            f"--junitxml={xml}",
            *args,
            "test_suite.py",
        ],
        cwd=directory,
        env=pytest_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return RunnerReport(xml, proc.stdout, proc.returncode)


@pytest.fixture(scope="module")
def pytest_report(tmp_path_factory: pytest.TempPathFactory) -> RunnerReport:
    return run_pytest(tmp_path_factory.mktemp("pytest-plain"), PYTEST_SUITE)


@pytest.fixture(scope="module")
def pytest_rerun_report(tmp_path_factory: pytest.TempPathFactory) -> RunnerReport:
    directory = tmp_path_factory.mktemp("pytest-rerun")
    return run_pytest(
        directory,
        PYTEST_RERUN_SUITE,
        "-p",
        "rerunfailures",
        "--reruns",
        "1",
        FLAKY_MARK=str(directory / "flaky.mark"),
    )


@pytest.fixture(scope="module")
def node_report(tmp_path_factory: pytest.TempPathFactory) -> RunnerReport:
    directory = tmp_path_factory.mktemp("node")
    (directory / "suite.test.mjs").write_text(NODE_SUITE)
    xml = directory / "junit.xml"
    proc = subprocess.run(
        [
            "node",
            "--test",
            "--test-reporter=tap",
            "--test-reporter-destination=stdout",
            "--test-reporter=junit",
            f"--test-reporter-destination={xml}",
            "suite.test.mjs",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return RunnerReport(xml, proc.stdout, proc.returncode)


def report(body: str, root: str = "testsuites") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>\n'.encode()


def case(name: str, children: str = "", classname: str = "c", **attrs: str) -> str:
    extra = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    opening = f"<testcase classname={quoteattr(classname)} name={quoteattr(name)}{extra}>"
    return f"{opening}{children}</testcase>"


def numbers(counts: Counts) -> tuple[int, int, int, int]:
    return counts.passed, counts.failed, counts.errors, counts.skipped


# -- real runners ---------------------------------------------------------------------


def test_pytest_report_counts_what_pytest_says(pytest_report: RunnerReport) -> None:
    counts = count_reports([pytest_report.xml])
    said = parse_summary(pytest_report.stdout)
    assert said is not None, pytest_report.stdout
    assert numbers(counts) == (5, 1, 1, 2)  # xfail is a skip in JUnit
    assert numbers(counts) == (said.passed, said.failed, said.errors, said.skipped)
    by_name = {f.test: f for f in counts.failures}
    assert by_name["test_suite::test_fails"].message.startswith("AssertionError: arithmetic")
    assert by_name["test_suite::test_fails"].outcome == "failure"
    assert by_name["test_suite::test_setup_error"].outcome == "error"
    assert "fixture exploded" in by_name["test_suite::test_setup_error"].message


def test_pytest_rerun_attempts_each_count_unless_last_wins(
    pytest_rerun_report: RunnerReport,
) -> None:
    said = parse_summary(pytest_rerun_report.stdout)
    assert said is not None, pytest_rerun_report.stdout
    assert "2 rerun" in said.summary
    # pytest-rerunfailures writes each failed attempt as a bare (passing-looking) entry
    counts = count_reports([pytest_rerun_report.xml])
    assert counts.entries == 5  # flaky and always_fails appear twice each
    assert numbers(counts) == (4, 1, 0, 0)
    assert counts.repeated == 2
    assert (counts.flaky, counts.last_wins) == (0, False)
    last = count_reports([pytest_rerun_report.xml], last_wins=True)
    assert numbers(last) == (said.passed, said.failed, said.errors, said.skipped) == (2, 1, 0, 0)
    assert [f.test for f in last.failures] == ["test_suite::test_always_fails"]
    assert "every attempt fails" in last.failures[0].message
    assert last.flaky == 1
    assert [(f.test, f.outcome) for f in last.flaky_tests] == [("test_suite::test_flaky", "flaky")]


def test_node_test_counts_equal_its_own_summary(node_report: RunnerReport) -> None:
    counts = count_reports([node_report.xml])
    said = parse_summary(node_report.stdout)
    assert said is not None, node_report.stdout
    # three tests named "works" in three describe blocks are three tests; the three
    # "same name" tests of one loop are three more, and one identity repeated
    assert numbers(counts) == (said.passed, said.failed, said.errors, said.skipped) == (7, 2, 0, 2)
    assert "tests 11" in said.summary
    assert counts.entries == 11
    assert counts.repeated == 1
    failures = {f.short: f for f in counts.failures}
    assert set(failures) == {"top fails", "breaks"}
    assert failures["breaks"].suite == "group B"
    assert "bad <thing>" in failures["breaks"].message


def test_truncated_real_report_is_an_error(pytest_report: RunnerReport, tmp_path: Path) -> None:
    data = pytest_report.xml.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(JUnitError, match="not well-formed XML"):
        count_reports([cut])


# -- other tools' documented shapes -------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected", "entries", "first_failure"),
    [
        ("jest-junit.xml", (3, 1, 1, 1), 6, ("Calculator divides by zero", "Error: expect(")),
        ("vitest.xml", (2, 2, 0, 2), 6, ("src/error.test.ts::diff", "expected { hello: 'x' }")),
        ("go-junit-report.xml", (3, 3, 1, 1), 8, ("package/fail::TestOne", "fail_test.go:6:")),
        ("gotestsum-rerun.xml", (2, 3, 0, 1), 6, ("example.com/shop/cart::TestFlaky", "cart_")),
        ("nextest.xml", (3, 1, 0, 0), 4, ("shop::basic::test_failure_assert", "thread '")),
        (
            "surefire/TEST-com.example.CalculatorTest.xml",
            (2, 2, 1, 1),
            6,
            ("com.example.CalculatorTest::divides", "expected: <2> but was: <3>"),
        ),
    ],
)
def test_documented_shapes(
    fixture: str,
    expected: tuple[int, int, int, int],
    entries: int,
    first_failure: tuple[str, str],
) -> None:
    counts = count_reports([FIXTURES / fixture])
    assert numbers(counts) == expected
    assert counts.entries == entries
    assert counts.failures[0].test == first_failure[0]
    assert counts.failures[0].message.startswith(first_failure[1])


def test_gotestsum_reruns_fold_with_last_wins() -> None:
    counts = count_reports([FIXTURES / "gotestsum-rerun.xml"], last_wins=True)
    assert numbers(counts) == (2, 1, 0, 1)
    assert (counts.entries, counts.repeated, counts.flaky) == (6, 2, 1)
    assert [f.test for f in counts.failures] == ["example.com/shop/cart::TestBroken"]
    [flaky] = counts.flaky_tests
    assert flaky.test == "example.com/shop/cart::TestFlaky"
    assert flaky.message == "cart_test.go:41: timeout waiting for lock"  # the failed attempt's


@pytest.mark.parametrize(
    ("fixture", "flaky"),
    [
        ("nextest.xml", ("shop::basic::test_flaky_mod_3", "thread 'test_flaky_mod_3' panicked")),
        (
            "surefire/TEST-com.example.CalculatorTest.xml",
            ("com.example.CalculatorTest::connects", "Connection refused"),
        ),
    ],
)
def test_rerun_markers_are_one_flaky_pass(fixture: str, flaky: tuple[str, str]) -> None:
    for last_wins in (False, True):
        counts = count_reports([FIXTURES / fixture], last_wins=last_wins)
        assert (counts.flaky, counts.repeated) == (1, 0)
        [test] = counts.flaky_tests
        assert (test.test, test.outcome) == (flaky[0], "flaky")
        assert test.message.startswith(flaky[1])


def test_every_fixture_says_where_its_shape_comes_from() -> None:
    for path in FIXTURES.rglob("*.xml"):
        head = path.read_text(encoding="utf-8")[:1500]
        assert "Shape:" in head, path
        assert "Expected" in head, path


# -- the counting rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("children", "outcome"),
    [
        ("", "passed"),
        ("<system-out>hello</system-out>", "passed"),
        ("<skipped/>", "skipped"),
        ("<skipped/><failure/>", "failed"),
        ("<failure/><skipped/>", "failed"),
        ("<failure/><error/>", "errors"),
        ("<error/><failure/><skipped/>", "errors"),
        ("<flakyFailure/><flakyError/>", "passed"),
        ("<rerunFailure/><rerunError/>", "passed"),
        ("<rerunFailure/><rerunError/><failure/>", "failed"),
        ("<flakyFailure/><skipped/>", "skipped"),
        ("<system-out><failure/></system-out>", "passed"),  # not a child of the testcase
    ],
)
def test_outcome_is_the_worst_direct_child(children: str, outcome: str) -> None:
    counts = count_bytes(report(case("t", children)))
    assert getattr(counts, outcome) == 1
    assert counts.total == 1
    # a pass that reports earlier attempts passed on a rerun: it is flaky
    marked = "flaky" in children or "rerun" in children
    assert counts.flaky == int(outcome == "passed" and marked)


def test_attribute_totals_are_never_read() -> None:
    body = (
        '<testsuite name="s" tests="5000" failures="0" skipped="0">' + case("only") + "</testsuite>"
    )
    assert numbers(count_bytes(report(body))) == (1, 0, 0, 0)


def test_testcases_count_at_any_depth() -> None:
    nested = (
        '<testsuite name="a">'
        + case("one")
        + '<testsuite name="b"><testsuite name="c">'
        + case("two")
        + "</testsuite></testsuite></testsuite>"
    )
    direct = case("three") + case("four", "<failure/>")
    assert numbers(count_bytes(report(nested + direct))) == (3, 1, 0, 0)
    bare = report(case("five") + case("six", "<skipped/>"), root="testsuite")
    assert numbers(count_bytes(bare)) == (1, 0, 0, 1)


def test_a_pass_never_hides_a_failure_across_reports(tmp_path: Path) -> None:
    first = tmp_path / "first.xml"
    second = tmp_path / "second.xml"
    first.write_bytes(report(case("flaky", "<failure message='boom'/>") + case("later", "")))
    second.write_bytes(report(case("flaky") + case("later", "<error message='late'/>")))
    counts = count_reports([first, second])
    assert numbers(counts) == (2, 1, 1, 0)
    assert counts.repeated == 2
    assert [f.test for f in counts.failures] == ["c::flaky", "c::later"]


def test_last_wins_lets_the_last_entry_decide_across_reports(tmp_path: Path) -> None:
    first = tmp_path / "first.xml"
    second = tmp_path / "second.xml"
    first.write_bytes(report(case("flaky", "<failure message='boom'/>") + case("later", "")))
    second.write_bytes(report(case("flaky") + case("later", "<error message='late'/>")))
    counts = count_reports([first, second], last_wins=True)
    assert numbers(counts) == (1, 0, 1, 0)
    assert [f.test for f in counts.failures] == ["c::later"]
    assert [(f.test, f.message) for f in counts.flaky_tests] == [("c::flaky", "boom")]
    reverse = count_reports([second, first], last_wins=True)
    assert numbers(reverse) == (1, 1, 0, 0)
    assert [f.test for f in reverse.flaky_tests] == ["c::later"]  # retried, then passed


def test_last_wins_never_lets_a_skip_clear_a_failure() -> None:
    body = case("t", "<failure message='x'/>") + case("t", "<skipped/>")
    counts = count_bytes(report(body), last_wins=True)
    assert numbers(counts) == (0, 1, 0, 0)
    assert (counts.flaky, counts.repeated) == (0, 1)


def test_identity_includes_file_suite_and_classname() -> None:
    body = (
        '<testsuite name="s1">'
        + case("t")
        + case("t", classname="other")
        + case("t", file="a.py")
        + "</testsuite>"
        + '<testsuite name="s2">'
        + case("t")
        + "</testsuite>"
        + '<testsuite name="s1">'
        + case("t", "<failure/>")  # the same test as the first, in a later suite element
        + "</testsuite>"
    )
    counts = count_bytes(report(body))
    assert (numbers(counts), counts.repeated) == ((4, 1, 0, 0), 1)
    last = count_bytes(report(body), last_wins=True)
    assert (numbers(last), last.repeated) == ((3, 1, 0, 0), 1)


def test_a_suite_file_attribute_is_the_file_of_its_cases() -> None:
    body = (
        '<testsuite name="s" file="a.test.js">'
        + case("t", "<failure/>")
        + case("t", file="a.test.js")  # same file, same test: a rerun that passed
        + case("t", file="b.test.js")  # another file: another test
        + "</testsuite>"
    )
    counts = count_bytes(report(body))
    assert (numbers(counts), counts.repeated) == ((2, 1, 0, 0), 1)
    last = count_bytes(report(body), last_wins=True)
    assert (numbers(last), last.flaky) == ((2, 0, 0, 0), 1)


def test_failures_are_capped_but_counted(tmp_path: Path) -> None:
    body = "".join(case(f"t{i}", f"<failure message='m{i}'/>") for i in range(KEEP_FAILURES + 15))
    counts = count_bytes(report(body))
    assert counts.failed == KEEP_FAILURES + 15
    assert len(counts.failures) == KEEP_FAILURES
    assert counts.failures[0].to_dict() == {"test": "c::t0", "message": "m0"}


def test_a_test_that_passes_on_rerun_moves_to_the_flaky_list() -> None:
    body = case("a", "<failure message='x'/>") + case("b", "<failure message='y'/>") + case("a")
    counts = count_bytes(report(body), last_wins=True)
    assert [f.test for f in counts.failures] == ["c::b"]
    assert [(f.test, f.message) for f in counts.flaky_tests] == [("c::a", "x")]
    every = count_bytes(report(body))
    assert [f.test for f in every.failures] == ["c::a", "c::b"]
    assert every.flaky_tests == ()


def test_the_same_failing_identity_is_listed_per_occurrence() -> None:
    body = (
        case("loop", "<failure message='1'/>")
        + case("loop")
        + case("loop", "<failure message='3'/>")
    )
    counts = count_bytes(report(body))
    assert numbers(counts) == (1, 2, 0, 0)
    assert [f.message for f in counts.failures] == ["1", "3"]


def test_message_from_the_body_when_the_attribute_says_nothing() -> None:
    body = case(
        "go", "<failure message='Failed'><![CDATA[=== RUN go\n\n  x_test.go:3: got 1]]></failure>"
    )
    body += case("none", "<error>\n\n   first real line\nsecond</error>")
    counts = count_bytes(report(body))
    assert [f.message for f in counts.failures] == ["x_test.go:3: got 1", "first real line"]


def test_messages_are_cleaned_and_capped() -> None:
    long = "x" * (MAX_MESSAGE_CHARS * 3)
    body = case("long", f"<failure message='{long}'/>") + case(
        "tabs", "<failure message='a&#9;b&#10;c'/>"
    )
    first, second = count_bytes(report(body)).failures
    assert len(first.message) == MAX_MESSAGE_CHARS
    assert first.message.endswith("…")
    assert second.message == "a\tb\nc"


def test_a_huge_failure_body_is_not_kept(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    with big.open("w") as fh:
        fh.write("<testsuites><testcase name='t'><failure>")
        fh.write(("trace line\n" * 100_000) + "</failure></testcase></testsuites>")
    counts = count_reports([big])
    assert counts.failed == 1
    assert counts.failures[0].message == "trace line"


def test_an_empty_suite_counts_zero() -> None:
    assert count_bytes(report("")).total == 0
    assert count_bytes(b"<testsuite name='none'/>").total == 0


def test_utf16_reports_are_read() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><testsuites>' + case("é") + "</testsuites>"
    assert count_bytes(text.encode("utf-16")).passed == 1


# -- hostile and broken input -------------------------------------------------------


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE testsuites [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<testsuites><testcase name="&lol9;"/></testsuites>\n'
)


def test_entity_bomb_is_refused_at_once(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(JUnitError, match="DOCTYPE"):
        count_reports([bomb])
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "not well-formed"),
        (b"<testsuites><testcase name='a'>", "truncated"),
        (b"<testsuites><testcase name='a'></testsuite></testsuites>", "mismatched tag"),
        (b"<html><body>502 Bad Gateway</body></html>", "not a JUnit report"),
        (b"<testsuites>\x01</testsuites>", "invalid token"),
        (b"<testsuites/><testsuites/>", "junk after document element"),
        (b"<testsuites><testcase name='&nbsp;'/></testsuites>", "undefined entity"),
        (
            b'<!DOCTYPE testsuites SYSTEM "file:///etc/passwd"><testsuites/>',
            "DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<testsuites>&x;</testsuites>",
            "DOCTYPE",
        ),
        (b"<testsuites>" + b"<a>" * 300 + b"</a>" * 300 + b"</testsuites>", "nested deeper"),
    ],
)
def test_unusable_input_is_an_error(data: bytes, message: str) -> None:
    with pytest.raises(JUnitError, match=message):
        count_bytes(data)


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b'<?xml version="1.0" encoding="Shift_JIS"?><testsuites/>', "Shift_JIS"),
        (b"<?xml version='1.0' encoding='UTF-7'?><testsuites/>", "UTF-7"),
        (b'<?xml version="1.0" encoding="cp500"?><testsuites/>', "cp500"),
        (b'<?xml version="1.0" encoding="x-no-such-codec"?><testsuites/>', "x-no-such"),
        (b'<?xml version="1.0" encoding="UTF-32"?><testsuites/>', "UTF-32"),
        (b'<?xml version="1.0" encoding="windows-1252"?><testsuites/>', "windows-1252"),
        ('<?xml version="1.0" encoding="cp500"?><testsuites/>'.encode("cp500"), "EBCDIC"),
        ('<?xml version="1.0" encoding="Shift_JIS"?><testsuites/>'.encode("utf-16"), "Shift_JIS"),
        (b'\xef\xbb\xbf<?xml version="1.0"  encoding = "EUC-JP" ?><testsuites/>', "EUC-JP"),
    ],
)
def test_encodings_expat_does_not_decode_itself_are_refused(data: bytes, declared: str) -> None:
    with pytest.raises(JUnitError, match=rf"declares encoding '{declared}.*read only in UTF-8"):
        count_bytes(data)


@pytest.mark.parametrize(
    "declared", ["UTF-8", "utf-8", "US-ASCII", "ISO-8859-1", "UTF-16", "UTF-16LE", None]
)
def test_encodings_expat_decodes_are_read(declared: str | None) -> None:
    prolog = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    text = prolog + "<testsuites>" + case("é" if declared != "US-ASCII" else "e") + "</testsuites>"
    codec = {"UTF-16": "utf-16", "UTF-16LE": "utf-16-le"}.get(declared or "", declared or "utf-8")
    assert count_bytes(text.encode(codec.lower())).passed == 1


def huge_token_report(path: Path, opening: bytes, filler: bytes, closing: bytes) -> Path:
    """``opening`` + 100+ MiB of ``filler`` + ``closing``, written without holding it."""
    block = filler * (1024**2 // len(filler))
    with path.open("wb") as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n' + opening)
        for _ in range(110):
            fh.write(block)
        fh.write(closing + b"\n</testsuites>\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("opening", "filler", "closing"),
    [
        (b'<testcase name="', b"a", b'"/>'),  # one attribute
        (b'<testcase name="', b"a>", b'"/>'),  # '>' is legal in an attribute value
        (b"<testcase name='x' ", b" ", b"/>"),  # blank space inside one tag
        (b"<!--", b"a<", b"-->"),  # a comment holds '<' too
        (b"<?pi ", b"a<", b"?>"),
    ],
)
def test_one_huge_token_is_refused(
    tmp_path: Path, opening: bytes, filler: bytes, closing: bytes
) -> None:
    # before the bound, a 100 MB attribute took 14 s and a 200 MB one 87 s (quadratic)
    path = huge_token_report(tmp_path / "huge.xml", opening, filler, closing)
    with pytest.raises(JUnitError, match=r"huge\.xml:3: one tag, comment or processing"):
        count_reports([path])


@pytest.mark.parametrize("padding", [0, 1000, 300_000])  # where the token starts vs the chunks
def test_the_token_limit_holds_wherever_the_token_falls(
    monkeypatch: pytest.MonkeyPatch, padding: int
) -> None:
    monkeypatch.setattr(junit_count, "MAX_TOKEN_BYTES", 1024**2)
    before = "<testsuites>" + "".join(case(f"p{i}") for i in range(padding // 40))

    def one_tag(size: int) -> bytes:
        tag = f"<testcase name='{'a' * (size - 20)}'/>"  # 20 bytes of markup around it
        return (before + tag.ljust(size) + "</testsuites>").encode()

    assert count_bytes(one_tag(1024**2 - 64)).passed == padding // 40 + 1
    with pytest.raises(JUnitError, match="larger than 1 MiB"):
        count_bytes(one_tag(1024**2 + 64))


@pytest.mark.slow
def test_huge_text_streams_through(tmp_path: Path) -> None:
    # text and CDATA are not held whole: a big captured output is no reason to refuse
    path = huge_token_report(
        tmp_path / "big.xml",
        b'<testcase name="t"><system-out><![CDATA[',
        b"log line <with> markup\n",
        b"]]></system-out></testcase>",
    )
    counts = count_reports([path])
    assert (counts.passed, counts.total) == (1, 1)


def test_doctype_hidden_in_utf16_is_refused() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><testsuites/>'
    with pytest.raises(JUnitError, match="DOCTYPE"):
        count_bytes(text.encode("utf-16"))


def test_errors_name_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_bytes(b"<testsuites>\n  <testcase name='a'>\n</testsuites>")
    with pytest.raises(
        JUnitError, match=r"^reports/r\.xml:3:3: not well-formed XML: mismatched tag"
    ):
        Tally().add_file(path, "reports/r.xml")


def test_oversized_report_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as fh:
        fh.truncate(junit_count.MAX_REPORT_BYTES + 1)  # sparse: no disk used, nothing read
    started = time.monotonic()
    with pytest.raises(JUnitError, match="MiB limit"):
        count_reports([path])
    assert time.monotonic() - started < 1.0


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "report.xml"
    os.mkfifo(fifo)
    with pytest.raises(JUnitError, match="not a regular file"):
        count_reports([fifo])


def test_missing_and_unreadable_reports_are_errors(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match="cannot open"):
        count_reports([tmp_path / "gone.xml"])
    with pytest.raises(JUnitError, match="not a regular file"):
        count_reports([tmp_path])  # a directory


# -- the rules against a model ------------------------------------------------------

_TEXT = st.text(alphabet="ab<&\"'é ", min_size=1, max_size=4)
_ENTRY = st.tuples(
    st.sampled_from(["s1", "s2", "s&3"]),
    st.sampled_from(["pkg.A", "a", ""]),  # "a" may equal the name, as jest-junit writes
    _TEXT,
    st.sampled_from(["", "<skipped/>", "<failure/>", "<error/>", "<flakyFailure/>"]),
)
_VALUE = {"": 0, "<flakyFailure/>": 0, "<skipped/>": 1, "<failure/>": 2, "<error/>": 3}
Entry = tuple[str, str, str, str]


def render(entries: Sequence[Entry]) -> bytes:
    """Consecutive entries of one suite share a <testsuite> element, as writers do."""
    parts: list[str] = []
    current = None
    for suite, classname, name, child in entries:
        if suite != current:
            if current is not None:
                parts.append("</testsuite>")
            parts.append(f"<testsuite name={quoteattr(suite)}>")
            current = suite
        parts.append(case(name, child, classname=classname))
    if current is not None:
        parts.append("</testsuite>")
    return report("".join(parts))


def tally_of(entries: Sequence[Entry], files: int, *, last_wins: bool) -> Counts:
    tally = Tally(last_wins=last_wins)
    size = max(1, len(entries) // files + 1)
    for start in range(0, max(1, len(entries)), size):
        tally.add_bytes(render(entries[start : start + size]))
    return tally.counts()


def by_value(values: Sequence[int]) -> list[int]:
    return [list(values).count(v) for v in range(4)]


@settings(max_examples=60, deadline=None)
@given(st.lists(_ENTRY, max_size=30), st.integers(min_value=1, max_value=3))
def test_every_entry_counts_in_a_model(entries: list[Entry], files: int) -> None:
    counts = tally_of(entries, files, last_wins=False)
    assert [counts.passed, counts.skipped, counts.failed, counts.errors] == by_value(
        [_VALUE[child] for *_, child in entries]
    )
    seen: dict[tuple[str, str, str], int] = {}
    for suite, classname, name, _ in entries:
        seen[(suite, classname, name)] = seen.get((suite, classname, name), 0) + 1
    assert counts.repeated == sum(1 for n in seen.values() if n > 1)
    assert counts.flaky == sum(1 for *_, child in entries if child == "<flakyFailure/>")
    assert counts.entries == len(entries)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ENTRY, max_size=30), st.integers(min_value=1, max_value=3))
def test_last_wins_matches_a_model(entries: list[Entry], files: int) -> None:
    final: dict[tuple[str, str, str], int] = {}
    flaky: dict[tuple[str, str, str], bool] = {}
    for suite, classname, name, child in entries:
        key, value = (suite, classname, name), _VALUE[child]
        if key in final and value == 1 and final[key] >= 2:
            continue  # a skipped rerun never clears a failure
        retried = key in final
        final[key] = value
        flaky[key] = value == 0 and (retried or child == "<flakyFailure/>")
    counts = tally_of(entries, files, last_wins=True)
    assert [counts.passed, counts.skipped, counts.failed, counts.errors] == by_value(
        list(final.values())
    )
    assert counts.flaky == sum(flaky.values())
    assert counts.entries == len(entries)
