"""The tests gate: thresholds, stale reports, crashes and broken reports, counting from
output text, dry-run plan, and the whole path through the CLI into gates.json/gates.xml."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mergegate.config import load_config
from mergegate.gates import GateContext, PlanContext
from mergegate.gates import tests as tests_gate
from mergegate.gates.tests import TestsSpec as TestsGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import Outcome, Status
from tests.helpers import gate_json, init_repo, load_json, parse_junit, run_cli, write_files

FIXTURES = Path(__file__).parent / "fixtures" / "junit"
PY = json.dumps(sys.executable)
PYTEST_ENV = 'env: {PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1"}'

PYTEST_SUITE = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_counts(n):
    assert n >= 0

def test_breaks():
    assert "red" == "green", "colours differ"
"""


@pytest.fixture
def procs() -> Iterator[ProcessManager]:
    manager = ProcessManager(grace=1.0)
    yield manager
    manager.close()


def suite_xml(passed: int, failed: int = 0, skipped: int = 0, prefix: str = "t") -> str:
    cases = [f'<testcase classname="m" name="{prefix}_pass_{i}"/>' for i in range(passed)]
    cases += [
        f'<testcase classname="m" name="{prefix}_fail_{i}"><failure message="boom {i}"/></testcase>'
        for i in range(failed)
    ]
    cases += [
        f'<testcase classname="m" name="{prefix}_skip_{i}"><skipped/></testcase>'
        for i in range(skipped)
    ]
    return (
        '<?xml version="1.0"?>\n<testsuites><testsuite name="s">'
        + "".join(cases)
        + ("</testsuite></testsuites>\n")
    )


def project(tmp_path: Path, gate: str, files: Mapping[str, str] | None = None) -> Path:
    """A git repository whose gates.yaml has one tests gate named `unit`."""
    config = "version: 1\ngates:\n  unit:\n    kind: tests\n" + "".join(
        f"    {line}\n" for line in gate.strip().splitlines()
    )
    return init_repo(
        tmp_path / "repo",
        {".gitignore": "reports/\n", "gates.yaml": config, **(files or {})},
    )


def context(root: Path, procs: ProcessManager, timeout: float = 60.0) -> GateContext[TestsGate]:
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates["unit"]
    assert isinstance(gate, TestsGate)
    env = {**os.environ, **loaded.env_of(gate)}
    base = LazyBase(root, None, None, {})
    return GateContext("unit", gate, loaded, base, env, root, timeout, procs, threading.Event())


def run_gate(root: Path, procs: ProcessManager, timeout: float = 60.0) -> Outcome:
    return tests_gate.run(context(root, procs, timeout))


def copy_run(src: str, dest: str = "reports/junit/unit.xml", then: str = "") -> str:
    return f"run: mkdir -p {Path(dest).parent} && cp {src} {dest}{then}"


# -- thresholds ---------------------------------------------------------------------


def test_threshold_met_passes(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/five.xml')}\njunit: reports/junit/*.xml\nmin_passed: 5",
        {"fixtures/five.xml": suite_xml(5)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason == "5 passed (≥ 5 required)"
    assert outcome.details["passed"] == 5
    assert outcome.details["reports"] == ["reports/junit/unit.xml"]
    assert outcome.details["source"] == "junit"


def test_threshold_missed_by_one_blocks(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/five.xml')}\njunit: reports/junit/*.xml\nmin_passed: 6",
        {"fixtures/five.xml": suite_xml(5)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "5 passed < 6 required"


def test_a_real_failing_test_blocks_above_the_threshold(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"run: [{PY}, -m, pytest, -q, -p, no:cacheprovider, --junitxml=reports/junit.xml]\n"
        f"junit: reports/junit.xml\nmin_passed: 2\n{PYTEST_ENV}",
        {"test_suite.py": PYTEST_SUITE},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "4 passed; 1 failed: test_breaks"  # named, not "crashed"
    [failure] = outcome.details["failures"]
    assert failure["test"] == "test_suite::test_breaks"
    assert failure["message"].startswith("AssertionError: colours differ")
    assert outcome.details["exit_code"] == 1
    assert "1 failed, 4 passed" in outcome.output_tail
    assert "pytest" in outcome.commands[0]


def test_real_pytest_suite_meeting_its_threshold_passes(
    tmp_path: Path, procs: ProcessManager
) -> None:
    suite = PYTEST_SUITE.replace('"red" == "green"', '"red" == "red"')
    root = project(
        tmp_path,
        f"run: [{PY}, -m, pytest, -q, -p, no:cacheprovider, --junitxml=reports/junit.xml]\n"
        f"junit: reports/junit.xml\nmin_passed: 5\n{PYTEST_ENV}",
        {"test_suite.py": suite},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["passed"] == 5
    assert outcome.details["exit_code"] == 0


def test_max_failed_tolerates_and_names_them(tmp_path: Path, procs: ProcessManager) -> None:
    # the command exits 1 because tests failed; within max_failed that does not block
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && exit 1')}\njunit: reports/junit/*.xml\n"
        "max_failed: 2",
        {"fixtures/r.xml": suite_xml(3, failed=2)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason == "3 passed (≥ 1 required); 2 failed (≤ 2 allowed): t_fail_0, t_fail_1"


def test_max_skipped(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml\nmax_skipped: 1",
        {"fixtures/r.xml": suite_xml(3, skipped=2)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "3 passed; 2 skipped > 1 allowed"


def test_an_empty_suite_does_not_pass_by_default(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(0)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "0 passed < 1 required"


def test_failures_in_details_are_capped_and_counted(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(1, failed=25)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert len(outcome.details["failures"]) == 20
    assert outcome.details["failures_not_listed"] == 5
    assert outcome.details["failures"][3] == {"test": "m::t_fail_3", "message": "boom 3"}
    assert outcome.reason.endswith(
        "25 failed: t_fail_0, t_fail_1, t_fail_2, t_fail_3, t_fail_4 … (+20 more)"
    )


# -- the suite crashed ------------------------------------------------------------------


def test_command_failing_while_reports_show_no_failure_blocks(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && echo segfault && exit 139')}\n"
        "junit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(10)},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert "exit code 139" in outcome.reason
    assert "the suite crashed" in outcome.reason
    assert "segfault" in outcome.output_tail


# -- repeated test ids, reruns and flaky tests -------------------------------------------


def same_id_xml(*children: str, name: str = "same") -> str:
    """Entries of one test id (one suite, classname and name), with these children each."""
    cases = "".join(f'<testcase classname="m" name="{name}">{c}</testcase>' for c in children)
    return (
        f'<?xml version="1.0"?>\n<testsuites><testsuite name="s">{cases}</testsuite></testsuites>\n'
    )


def test_a_later_pass_of_the_same_test_id_never_hides_its_failure(
    tmp_path: Path, procs: ProcessManager
) -> None:
    # vitest's type-check copies and jest loops give tests one id; this passed before
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && exit 1')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": same_id_xml('<failure message="boom"/>', "")},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == (
        "1 passed; 1 failed: same; 1 test id occurs more than once in the reports, "
        "every entry counted"
    )
    assert (outcome.details["repeated_ids"], outcome.details["entries"]) == (2 - 1, 2)
    assert outcome.details["retries"] is None


def test_the_same_id_failing_twice_is_named_once_with_its_count(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && exit 1')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": same_id_xml(*['<failure message="x"/>'] * 3, "")},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("1 passed; 3 failed: same (×3); 1 test id occurs")


RERUN_XML = same_id_xml('<failure message="lock timeout"/>', "", name="TestFlaky").replace(
    "</testsuite>", '<testcase classname="m" name="TestStable"/></testsuite>'
)


def test_retries_last_wins_passes_a_rerun_and_lists_it_as_flaky(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml\nretries: last-wins",
        {"fixtures/r.xml": RERUN_XML},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason == (
        "2 passed (≥ 1 required); 1 flaky (passed on a rerun): TestFlaky; "
        "retries: last-wins: 1 test ran more than once, each counted once"
    )
    assert outcome.details["flaky"] == 1
    assert outcome.details["flaky_tests"] == [{"test": "m::TestFlaky", "message": "lock timeout"}]
    assert outcome.details["retries"] == "last-wins"
    without = project(
        tmp_path / "b",
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": RERUN_XML},
    )
    assert run_gate(without, procs).status is Status.FAILED  # not opted in: the failure counts


def test_a_failed_command_with_only_flaky_failures_is_no_crash(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && exit 1')}\njunit: reports/junit/*.xml\n"
        "retries: last-wins",
        {"fixtures/r.xml": RERUN_XML},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert "failed (exit code 1) though every test passed in the end" in outcome.reason
    assert "crashed" not in outcome.reason
    assert "1 flaky (passed on a rerun): TestFlaky" in outcome.reason


def test_rerun_markers_make_a_flaky_pass_without_opting_in(
    tmp_path: Path, procs: ProcessManager
) -> None:
    surefire = FIXTURES / "surefire" / "TEST-com.example.CalculatorTest.xml"
    root = project(
        tmp_path, f"{copy_run(str(surefire))}\njunit: reports/junit/*.xml\nmax_failed: 3"
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert "1 flaky (passed on a rerun): connects" in outcome.reason
    assert outcome.details["flaky_tests"] == [
        {"test": "com.example.CalculatorTest::connects", "message": "Connection refused"}
    ]


# -- the report directory ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "directory"),
    [
        ("reports/junit/unit.xml", "reports/junit"),
        ("./reports/junit/*.xml", "reports/junit"),
        ("reports/ju*/x.xml", "reports"),
        ("reports/**/*.xml", "reports"),
        ("out/[ab]/x.xml", "out"),
        ("unit.xml", ""),
        ("*.xml", ""),
        ("**/junit.xml", ""),
    ],
)
def test_the_report_directory_is_the_literal_part_of_the_pattern(
    pattern: str, directory: str
) -> None:
    assert tests_gate.report_dir(pattern) == directory


NODE_SUITE = "import { test } from 'node:test';\ntest('a', () => {});\ntest('b', () => {});\n"


@pytest.mark.parametrize("junit", ["reports/junit/unit.xml", "reports/junit/*.xml"])
def test_node_test_can_write_its_report_into_a_directory_that_did_not_exist(
    tmp_path: Path, procs: ProcessManager, junit: str
) -> None:
    # node --test-reporter-destination fails with ENOENT when the directory is missing
    root = project(
        tmp_path,
        "run: [node, --test, --test-reporter=junit, "
        "--test-reporter-destination=reports/junit/unit.xml, a.test.mjs]\n"
        f"junit: {junit}\nmin_passed: 2",
        {"a.test.mjs": NODE_SUITE},
    )
    assert not (root / "reports").exists()
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, f"{outcome.reason}\n{outcome.output_tail}"
    assert outcome.details["reports"] == ["reports/junit/unit.xml"]


def test_a_file_where_the_report_directory_goes_is_an_error_before_the_run(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(tmp_path, "run: touch ran\njunit: reports/junit/*.xml", {"reports": "a file"})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason == (
        "cannot create reports/junit/ for the JUnit report: reports: exists and is not a directory"
    )
    assert not (root / "ran").exists()


def test_report_directories_are_never_made_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "project"
    root.mkdir()
    (root / "reports").symlink_to(outside)
    assert tests_gate.make_report_dirs(root, ["reports/junit/*.xml", "out/a/b.xml"]) is None
    assert list(outside.iterdir()) == []
    assert (root / "out" / "a").is_dir()


# -- stale reports ----------------------------------------------------------------------


def test_a_report_the_run_did_not_write_is_stale(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "run: echo 'tests did not run'\njunit: reports/junit/*.xml",
    )
    write_files(root, {"reports/junit/old.xml": suite_xml(50)})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith(
        "1 JUnit file matched reports/junit/*.xml but it was not written by this run "
        "(reports/junit/old.xml): a stale report from an earlier run"
    )


def test_several_stale_reports_are_named_in_the_plural(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(tmp_path, "run: 'true'\njunit: reports/junit/*.xml")
    write_files(root, {f"reports/junit/{n}.xml": suite_xml(5) for n in ("a", "b")})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith(
        "2 JUnit files matched reports/junit/*.xml but none was written by this run "
        "(reports/junit/a.xml, reports/junit/b.xml): stale reports from an earlier run"
    )


def test_stale_reports_are_ignored_next_to_fresh_ones(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', dest='reports/junit/new.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(3, prefix="new")},
    )
    write_files(root, {"reports/junit/old.xml": suite_xml(0, failed=4, prefix="old")})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason == "3 passed (≥ 1 required) (ignored 1 stale report)"
    assert outcome.details["stale_reports"] == ["reports/junit/old.xml"]
    assert outcome.details["reports"] == ["reports/junit/new.xml"]


def test_a_report_rewritten_by_the_run_counts(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(7)},
    )
    write_files(root, {"reports/junit/unit.xml": suite_xml(0, failed=1)})
    old = time.time() - 3600
    os.utime(root / "reports/junit/unit.xml", (old, old))
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["passed"] == 7


def test_a_report_copied_in_with_an_old_mtime_is_stale(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(
        tmp_path,
        "run: mkdir -p reports/junit && cp -p archive/last-week.xml reports/junit/unit.xml\n"
        "junit: reports/junit/*.xml",
        {"archive/last-week.xml": suite_xml(100)},
    )
    old = time.time() - 7 * 86400
    os.utime(root / "archive/last-week.xml", (old, old))
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert "a stale report from an earlier run" in outcome.reason


def test_without_run_existing_reports_count(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "junit: [reports/a.xml, reports/b/*.xml]")
    write_files(
        root,
        {"reports/a.xml": suite_xml(2, prefix="a"), "reports/b/c.xml": suite_xml(3, prefix="c")},
    )
    old = time.time() - 3600
    os.utime(root / "reports/a.xml", (old, old))
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["passed"] == 5
    assert outcome.details["reports"] == ["reports/a.xml", "reports/b/c.xml"]
    assert outcome.details["exit_code"] is None
    assert outcome.commands == ()


# -- cannot decide: errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<testsuites><testcase name='a'>", "truncated"),
        ("<testsuites><testcase name='a'></testsuite>", "mismatched tag"),
        ('<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><testsuites/>', "DOCTYPE"),
        ('{"tests": 5}', "not well-formed"),
        ("<html>Bad Gateway</html>", "not a JUnit report"),
        ("", "empty file"),
    ],
)
def test_a_broken_report_is_an_error(
    tmp_path: Path, procs: ProcessManager, content: str, message: str
) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": content},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith("not a valid JUnit report: reports/junit/unit.xml")
    assert message in outcome.reason


def test_no_matching_report_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "run: echo ran\njunit: reports/junit/*.xml")
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith("no JUnit file matches reports/junit/*.xml")
    assert "did `echo ran` write its report there?" in outcome.reason
    assert "ran" in outcome.output_tail
    no_run = project(tmp_path / "b", "junit: reports/*.xml")
    assert run_gate(no_run, procs).status is Status.ERROR


def test_a_report_symlinked_out_of_the_project_is_refused(
    tmp_path: Path, procs: ProcessManager
) -> None:
    outside = tmp_path / "outside.xml"
    outside.write_text(suite_xml(100))
    root = project(
        tmp_path,
        f"run: mkdir -p reports && ln -sf {outside} reports/unit.xml\njunit: reports/*.xml",
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert "outside the project" in outcome.reason


def test_a_timed_out_run_is_a_timeout(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml', then=' && sleep 30')}\njunit: reports/junit/*.xml",
        {"fixtures/r.xml": suite_xml(5)},
    )
    started = time.monotonic()
    outcome = run_gate(root, procs, timeout=1.0)
    assert outcome.status is Status.TIMEOUT
    assert outcome.reason.endswith("timed out")
    assert time.monotonic() - started < 10


def test_a_missing_executable_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "run: [no-such-test-runner-xyz]\njunit: reports/*.xml")
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert "executable not found: no-such-test-runner-xyz" in outcome.reason


# -- counting from output text ----------------------------------------------------------


def test_count_from_real_pytest_output(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        f"run: [{PY}, -m, pytest, -q, -p, no:cacheprovider]\ncount_from: output\n"
        f"min_passed: 4\n{PYTEST_ENV}",
        {"test_suite.py": PYTEST_SUITE},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == (
        "4 passed; 1 failed: test_breaks (read from pytest's output text, not JUnit)"
    )
    assert outcome.details["source"] == "output"
    assert outcome.details["runner"] == "pytest"
    assert outcome.details["summary_line"].startswith("1 failed, 4 passed in ")
    assert outcome.details["failures"] == [{"test": "test_suite.py::test_breaks", "message": ""}]


def test_count_from_real_node_test_output(tmp_path: Path, procs: ProcessManager) -> None:
    suite = (
        "import { test } from 'node:test';\n"
        + "".join(f"test('t{i}', () => {{}});\n" for i in range(3))
        + "test('later', { todo: true }, () => {});\n"
    )
    root = project(
        tmp_path,
        "run: [node, --test, --test-reporter=tap, a.test.mjs]\ncount_from: output\nmin_passed: 3",
        {"a.test.mjs": suite},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["runner"] == "node --test"
    assert (outcome.details["passed"], outcome.details["skipped"]) == (3, 1)


def test_count_from_output_without_a_summary_is_an_error(
    tmp_path: Path, procs: ProcessManager
) -> None:
    root = project(tmp_path, "run: echo 'all good, trust me'\ncount_from: output")
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith("no test summary found in the output of `echo")


def test_count_from_output_needing_every_line_refuses_a_truncated_output(
    tmp_path: Path, procs: ProcessManager
) -> None:
    script = "import sys\nfor i in range(3000):\n    print(f'--- PASS: TestCase{i} (0.00s)')\n"
    root = project(tmp_path, f"run: [{PY}, gotest.py]\ncount_from: output", {"gotest.py": script})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert "too long to keep whole" in outcome.reason
    assert "go test counts must add up every line" in outcome.reason


def test_count_from_output_short_go_output_counts(tmp_path: Path, procs: ProcessManager) -> None:
    out = "=== RUN TestA\n--- PASS: TestA (0.00s)\n--- SKIP: TestB (0.00s)\nok  \tpkg\t0.01s\n"
    root = project(tmp_path, "run: cat go-test.out\ncount_from: output", {"go-test.out": out})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason.endswith("(read from go test's output text, not JUnit)")
    assert (outcome.details["passed"], outcome.details["skipped"]) == (1, 1)


# -- dry-run plan ---------------------------------------------------------------------


def plan_of(root: Path) -> tuple[list[str], list[str]]:
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates["unit"]
    assert isinstance(gate, TestsGate)
    ctx = PlanContext("unit", gate, loaded, LazyBase(root, None, None, {}), dict(os.environ), root)
    info = tests_gate.plan(ctx)
    return list(info.lines), list(info.problems)


def test_plan_lists_the_command_globs_and_requirements(tmp_path: Path) -> None:
    root = project(
        tmp_path, "run: npm test\njunit: reports/*.xml\nmin_passed: 1999\nmax_skipped: 3"
    )
    lines, _ = plan_of(root)
    assert lines == [
        "run: npm test",
        "junit: reports/*.xml (none there now)",
        "requires: ≥ 1999 passed, ≤ 0 failed, ≤ 3 skipped",
    ]


def test_plan_counts_files_in_the_singular_and_plural(tmp_path: Path) -> None:
    root = project(tmp_path, "junit: reports/*.xml\nretries: last-wins")
    write_files(root, {"reports/a.xml": suite_xml(1)})
    assert plan_of(root)[0][0] == "junit: reports/*.xml (1 file there now; retries: last-wins)"
    write_files(root, {"reports/b.xml": suite_xml(1)})
    assert plan_of(root)[0][0] == "junit: reports/*.xml (2 files there now; retries: last-wins)"


def test_plan_problems(tmp_path: Path) -> None:
    root = project(tmp_path, "run: [no-such-runner-xyz]\njunit: reports/*.xml")
    _, problems = plan_of(root)
    assert problems == ["executable not found on PATH: no-such-runner-xyz"]
    no_run = project(tmp_path / "b", "junit: reports/*.xml")
    _, problems = plan_of(no_run)
    assert problems == ["no JUnit file matches reports/*.xml and no `run` writes one"]


# -- through the CLI ------------------------------------------------------------------


def test_cli_run_reports_failing_tests_in_json_and_junit(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        f"run: [{PY}, -m, pytest, -q, -p, no:cacheprovider, --junitxml=reports/junit.xml]\n"
        f"junit: reports/junit.xml\nmin_passed: 5\n{PYTEST_ENV}",
        {"test_suite.py": PYTEST_SUITE},
    )
    proc = run_cli(["run"], cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = gate_json(load_json(root / "reports/gates.json"), "unit")
    assert gate["status"] == "failed"
    assert gate["reason"] == "4 passed < 5 required; 1 failed: test_breaks"
    assert gate["details"]["failures"][0]["test"] == "test_suite::test_breaks"
    xml = parse_junit(root / "reports/gates.xml")
    failure = xml.find(".//testcase[@name='unit']/failure")
    assert failure is not None
    assert "4 passed < 5 required" in (failure.get("message") or "")
    assert "test_suite::test_breaks: AssertionError: colours differ" in (failure.text or "")


def test_cli_run_passes_and_dry_run_is_runnable(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml\nmin_passed: 3",
        {"fixtures/r.xml": suite_xml(3)},
    )
    dry = run_cli(["run", "--dry-run"], cwd=root)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "requires: ≥ 3 passed, ≤ 0 failed" in dry.stdout
    proc = run_cli(["run"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gate = gate_json(load_json(root / "reports/gates.json"), "unit")
    assert (gate["status"], gate["details"]["passed"]) == ("passed", 3)


def test_cli_lists_flaky_tests_in_json_and_junit(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        f"{copy_run('fixtures/r.xml')}\njunit: reports/junit/*.xml\nretries: last-wins",
        {"fixtures/r.xml": RERUN_XML},
    )
    proc = run_cli(["run"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gate = gate_json(load_json(root / "reports/gates.json"), "unit")
    assert "1 flaky (passed on a rerun): TestFlaky" in gate["reason"]
    assert gate["details"]["flaky_tests"] == [{"test": "m::TestFlaky", "message": "lock timeout"}]
    xml = parse_junit(root / "reports/gates.xml")
    out = xml.find(".//testcase[@name='unit']/system-out")
    assert out is not None
    assert "- m::TestFlaky (flaky: passed on a rerun): lock timeout" in (out.text or "")


@pytest.mark.parametrize("encoding", ["Shift_JIS", "UTF-7", "cp500", "no-such-encoding"])
def test_cli_a_report_in_a_foreign_encoding_blocks_without_a_crash(
    tmp_path: Path, encoding: str
) -> None:
    report = suite_xml(3).replace(
        '<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>'
    )
    root = project(tmp_path, "junit: reports/*.xml")
    (root / "reports").mkdir()
    (root / "reports/unit.xml").write_bytes(
        report.encode("cp500" if encoding == "cp500" else "ascii")
    )
    proc = run_cli(["run"], cwd=root, env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = gate_json(load_json(root / "reports/gates.json"), "unit")
    assert gate["status"] == "error"
    assert gate["reason"].startswith(
        "not a valid JUnit report: reports/unit.xml:1: declares encoding"
    )
    assert "crash" not in proc.stdout + proc.stderr
    assert not list(tmp_path.glob("cache/**/crash-*"))  # no crash log written


# -- hostile reports: every one an error that blocks, never a crash --------------------------

_DECL = '<?xml version="1.0" encoding="{}"?>'
_CASE = '<testsuites><testcase classname="c" name="t"/></testsuites>'
HOSTILE: dict[str, bytes] = {
    "shift-jis": (_DECL.format("Shift_JIS") + _CASE).encode(),
    "utf-7": (_DECL.format("UTF-7") + _CASE).encode(),
    "ebcdic": (_DECL.format("cp500") + _CASE).encode("cp500"),
    "bogus-encoding": (_DECL.format("no-such-codec") + _CASE).encode(),
    "utf-32-declared": (_DECL.format("UTF-32") + _CASE).encode(),
    "utf-32-data": (_DECL.format("UTF-32") + _CASE).encode("utf-32"),
    "entity-bomb": (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuites>&b;</testsuites>'
    ),
    "external-entity": (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<testsuites>&x;</testsuites>"
    ),
    "deep-nesting": b"<testsuites>"
    + b"<testsuite>" * 5000
    + b"</testsuite>" * 5000
    + b"</testsuites>",
    "truncated": b"<testsuites><testcase name='t'>",
    "empty": b"",
    "blank": b"\n\n   \n",
    "binary": bytes(range(256)) * 4,
    "nul-inside": b"<testsuites><testcase name='t\x00'/></testsuites>",
    "bad-utf-8": b"<testsuites><testcase name='\xff\xfe\xc3'/></testsuites>",
    "bad-char-ref": b"<testsuites><testcase name='&#0;'/></testsuites>",
    "surrogate-ref": b"<testsuites><testcase name='&#xD800;'/></testsuites>",
    "undefined-entity": b"<testsuites><testcase name='&nbsp;'/></testsuites>",
    "duplicate-attribute": b"<testsuites><testcase name='a' name='b'/></testsuites>",
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "two-roots": b"<testsuites/><testsuites/>",
    "unclosed-cdata": b"<testsuites><testcase name='t'><system-out><![CDATA[x</testsuites>",
    "json": b'{"tests": 5, "failures": 0}',
    "huge-attribute": b"<testsuites><testcase name='" + b"a" * (17 * 1024**2) + b"'/></testsuites>",
    "huge-comment": b"<testsuites><!--" + b"<a>" * (6 * 1024**2) + b"--></testsuites>",
}


@pytest.mark.slow
def test_hostile_reports_each_block_as_an_error_without_a_crash(tmp_path: Path) -> None:
    gates = "".join(
        f"  {name}:\n    kind: tests\n    junit: reports/{name}.xml\n" for name in HOSTILE
    )
    gates += "  fifo:\n    kind: tests\n    junit: reports/fifo.xml\n"
    root = init_repo(tmp_path / "repo", {"gates.yaml": f"version: 1\ngates:\n{gates}"})
    (root / "reports").mkdir()
    for name, data in HOSTILE.items():
        (root / "reports" / f"{name}.xml").write_bytes(data)
    os.mkfifo(root / "reports/fifo.xml")
    proc = run_cli(
        ["run", "--json", "out/gates.json", "--junit", "out/gates.xml"],
        cwd=root,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = load_json(root / "out/gates.json")
    results = {g["name"]: (g["status"], g["reason"]) for g in report["gates"]}
    assert set(results) == {*HOSTILE, "fifo"}
    wrong = {
        name: result
        for name, result in results.items()
        if result[0] != "error"
        or not result[1].startswith(("not a valid JUnit report: ", "JUnit report refused: "))
    }
    assert wrong == {}
    assert not list(tmp_path.glob("cache/**/crash-*"))
    junit = parse_junit(root / "out/gates.xml")
    assert len(junit.findall(".//testcase/error")) == len(HOSTILE) + 1
