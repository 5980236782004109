"""GitHub Actions output: annotations, their order and cap, groups, and inert gate output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mergegate.report import github
from mergegate.results import Annotation, GateResult, RunResult, SkipCause, Status
from tests.ghrunner import process
from tests.helpers import init_repo, run_cli, write_config

INJECTION = "\n".join(
    [
        "::add-mask::x",
        "::error::injected",
        "  ::warning title=fake::indented injection",
        "##[error]legacy injection in the middle of a line",
        "::set-output name=verdict::allowed",
        "::endgroup::",
        "::stop-commands::attacker",
        "::attacker::",
        "::ERROR::upper-case injection",
    ]
)


def gate(
    name: str,
    status: Status = Status.PASSED,
    *,
    blocking: bool = True,
    reason: str = "",
    output: str = "",
    annotations: tuple[Annotation, ...] = (),
    skip_cause: SkipCause | None = None,
    started: float | None = 1_700_000_000.0,
    commands: tuple[str, ...] = ("true",),
) -> GateResult:
    return GateResult(
        name=name,
        kind="command",
        status=status,
        blocking=blocking,
        duration=1.25,
        reason=reason or f"{name} {status.value}",
        output_tail=output,
        commands=commands,
        annotations=annotations,
        skip_cause=skip_cause,
        started=started,
    )


def run_of(
    *gates: GateResult, interrupted: bool = False, warnings: tuple[str, ...] = ()
) -> RunResult:
    return RunResult(
        gates=gates,
        started=1_700_000_000.0,
        duration=3.0,
        version="0.1.0",
        interrupted=interrupted,
        warnings=warnings,
    )


def test_escapes_round_trip_through_the_runner() -> None:
    title = "gate: a,b %25 100%\r\nsecond line"
    message = "line one\nline two: 50% done, 2,3\r"
    log = process(github.command("error", message, {"title": title, "file": "a,b:c.py"}))
    (cmd,) = log.commands
    assert cmd.name == "error"
    assert cmd.properties == {"title": title, "file": "a,b:c.py"}
    assert cmd.data == message


def test_blocking_failure_is_an_error_titled_with_the_gate() -> None:
    text = github.render(run_of(gate("lint", Status.FAILED, reason="exit code 1")))
    (cmd,) = process(text).annotations
    assert cmd.name == "error"
    assert cmd.properties["title"] == "lint"
    assert "exit code 1" in cmd.data
    assert "mergegate run --only lint" in cmd.data


def test_findings_carry_file_line_and_column() -> None:
    finding = Annotation("secret: aws-access-key", path="src/conf.py", line=12, col=5)
    failed = gate("no-secrets", Status.FAILED, annotations=(finding,))
    cmds = process(github.render(run_of(failed))).annotations
    assert [c.name for c in cmds] == ["error", "error"]
    assert "file" not in cmds[0].properties  # the gate-level error comes first
    assert cmds[1].properties == {
        "title": "no-secrets",
        "file": "src/conf.py",
        "line": "12",
        "col": "5",
    }
    assert cmds[1].data == "secret: aws-access-key"


def test_path_prefix_points_annotations_at_the_workspace() -> None:
    finding = Annotation("bad", path="src/a.py", line=1)
    text = github.render(run_of(gate("f", Status.FAILED, annotations=(finding,))), "sub/dir/")
    assert process(text).annotations[1].properties["file"] == "sub/dir/src/a.py"


def test_column_without_line_is_left_out() -> None:
    finding = Annotation("bad", path="a.py", line=None, col=3)
    cmds = process(github.render(run_of(gate("f", Status.FAILED, annotations=(finding,)))))
    assert cmds.annotations[1].properties == {"title": "f", "file": "a.py"}


def test_what_does_not_block_is_a_warning_or_nothing() -> None:
    run = run_of(
        gate("ok"),
        gate("filtered", Status.SKIPPED, skip_cause=SkipCause.FILTER, started=None),
        gate("advisory", Status.FAILED, blocking=False,
             annotations=(Annotation("style", path="a.py", line=2),)),
        gate("after", Status.SKIPPED, skip_cause=SkipCause.NEEDS, started=None,
             reason="needs lint, which failed"),
    )  # fmt: skip
    cmds = process(github.render(run)).annotations
    assert [(c.name, c.properties["title"]) for c in cmds] == [
        ("error", "after"),
        ("warning", "advisory"),
        ("warning", "advisory"),
    ]
    assert "non-blocking" in cmds[1].data


def test_errors_come_before_warnings_and_gates_before_findings() -> None:
    run = run_of(
        gate("advisory", Status.FAILED, blocking=False),
        gate("forbid", Status.FAILED, annotations=(Annotation("hit", path="x", line=1),)),
        gate("tests", Status.ERROR, reason="no JUnit file matched"),
        interrupted=True,
        warnings=("TOKEN is too short to mask",),
    )
    cmds = process(github.render(run)).annotations
    order = [(c.name, c.properties.get("title"), c.properties.get("file")) for c in cmds]
    assert order == [
        ("error", "mergegate", None),
        ("error", "forbid", None),
        ("error", "tests", None),
        ("error", "forbid", "x"),
        ("warning", "advisory", None),
        ("warning", "mergegate", None),
    ]
    assert "interrupted" in cmds[0].data


@pytest.mark.parametrize(("findings", "shown"), [(8, 9), (9, 10), (10, 10), (40, 10)])
def test_at_most_ten_errors_the_last_counting_the_rest(findings: int, shown: int) -> None:
    hits = tuple(Annotation(f"hit {i}", path="a.py", line=i + 1) for i in range(findings))
    run = run_of(gate("forbid", Status.FAILED, annotations=hits))
    errors = process(github.render(run)).named("error")
    assert len(errors) == shown
    total = findings + 1
    if total > github.MAX_PER_LEVEL:
        rest = total - (github.MAX_PER_LEVEL - 1)
        assert re.match(rf"{rest} more error annotations not shown", errors[-1].data)
        assert errors[0].properties["title"] == "forbid"  # the most important one survives
        assert "file" not in errors[0].properties
    else:
        assert errors[-1].data == f"hit {findings - 1}"


def test_warnings_are_capped_separately_from_errors() -> None:
    run = run_of(
        gate("lint", Status.FAILED),
        *(gate(f"advisory-{i}", Status.FAILED, blocking=False) for i in range(15)),
    )
    log = process(github.render(run))
    assert len(log.named("error")) == 1
    warnings = log.named("warning")
    assert len(warnings) == 10
    assert warnings[-1].data.startswith("6 more warning annotations")


def test_each_gate_is_a_group_with_its_output() -> None:
    run = run_of(
        gate("lint", output="checked 12 files\n", commands=("ruff check .",)),
        gate("tests", Status.FAILED, output="1 failed\n"),
        gate("filtered", Status.SKIPPED, skip_cause=SkipCause.FILTER, started=None, commands=()),
    )
    text = github.render(run)
    log = process(text)
    groups = [c.data for c in log.named("group")]
    assert groups == ["lint: passed in 1.2s", "tests: failed in 1.2s"]
    assert len(log.named("endgroup")) == 2
    assert not log.stopped_at_end
    lines = text.split("\n")
    assert "$ ruff check ." in lines
    assert "checked 12 files" in lines
    assert "reproduce: mergegate run --only tests" in lines


def test_gate_output_cannot_issue_workflow_commands() -> None:
    run = run_of(
        gate("evil", Status.FAILED, output=INJECTION, commands=("::error::from the command",),
             reason="exit 1 ::add-mask::y\n::error::in the reason"),
    )  # fmt: skip
    text = github.render(run)
    log = process(text)
    assert [c.name for c in log.commands] == ["group", "endgroup", "error"]
    (error,) = log.annotations
    assert error.properties["title"] == "evil"
    assert "::error::in the reason" in error.data  # inert: the newline is escaped
    lines = text.split("\n")
    for needle in ("::add-mask::x", "::error::injected", "::ERROR::upper-case injection"):
        line_no = lines.index(needle) + 1
        assert line_no in log.ignored
    assert not log.stopped_at_end


def test_output_without_trailing_newline_still_resumes_commands() -> None:
    block = github.gate_block(gate("g", output="no newline at the end"))
    log = process(block + github.command("error", "after"))
    assert [c.name for c in log.commands] == ["group", "endgroup", "error"]


def test_tokens_are_fresh_for_every_block() -> None:
    first = github.gate_block(gate("g"))
    second = github.gate_block(gate("g"))
    token = re.compile(r"^::stop-commands::([0-9a-f]{32})$", re.M)
    assert token.findall(first) != token.findall(second)
    assert len(token.findall(first)) == 1


def test_inert_fences_any_text() -> None:
    log = process(github.inert(INJECTION) + "::notice::still working\n")
    assert [c.name for c in log.commands] == ["notice"]


def test_group_title_escapes_newlines() -> None:
    log = process(github.gate_block(gate("a\nb")))
    assert log.named("group")[0].data.startswith("a\nb: passed")


# -- end to end: the real CLI under GITHUB_ACTIONS=true --------------------------------

E2E_GATES = """\
version: 1
gates:
  evil:
    run: |
      echo "::add-mask::x"
      echo "::error::injected"
      echo "##[set-output name=verdict]allowed" >&2
      exit 1
  fine:
    run: echo ok
"""


def test_cli_output_gives_github_only_mergegates_own_commands(repo: Path) -> None:
    write_config(repo, E2E_GATES)
    result = run_cli(["run"], cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stdout + result.stderr
    for stream in (result.stdout, result.stderr):
        log = process(stream)
        assert not log.stopped_at_end
        assert not log.named("add-mask")
        assert not log.named("set-output")
        assert all(c.data != "injected" for c in log.commands)
    stdout = process(result.stdout)
    assert [c.data.split(":")[0] for c in stdout.named("group")] == ["evil", "fine"]
    assert [c.properties["title"] for c in stdout.named("error")] == ["evil"]
    lines = result.stdout.split("\n")
    for needle in ("::add-mask::x", "::error::injected"):
        hits = [i + 1 for i, line in enumerate(lines) if line.strip() == needle]
        assert hits, f"{needle} should be shown in the gate's group"
        assert set(hits) <= set(stdout.ignored), f"{needle} printed outside stop-commands"


# -- a gates.yaml GitHub cannot run: its problems annotate the file's lines ---------------


def test_config_errors_annotate_their_line_on_github(tmp_path: Path) -> None:
    body = "version: 1\ngates:\n  a: {runn: 'true'}\n  b: {run: 'true', timeout: soon}\n"
    repo = init_repo(tmp_path / "repo", {"ci/gates.yaml": body})
    result = run_cli(["run", "-c", "ci/gates.yaml"], cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 2, result.stdout + result.stderr
    errors = process(result.stdout).named("error")
    assert [(e.properties["file"], e.properties["line"], e.properties["col"]) for e in errors] == [
        ("ci/gates.yaml", "3", "3"),  # `run` missing from gate a
        ("ci/gates.yaml", "3", "7"),  # the mistyped key
        ("ci/gates.yaml", "4", "20"),
    ]
    assert errors[1].data == "gates.a.runn: unknown key (did you mean run?)"
    assert errors[2].data.startswith("gates.b.timeout: invalid duration 'soon'")
    assert "invalid configuration" in result.stderr  # the log keeps the full list
    plain = run_cli(["run", "-c", "ci/gates.yaml"], cwd=repo / "ci", env={"GITHUB_ACTIONS": ""})
    assert plain.returncode == 2
    assert "::error" not in plain.stdout + plain.stderr


def test_config_error_annotations_are_capped_and_masked(tmp_path: Path) -> None:
    token = "s3cr3t-" + "q" * 24
    gates = "".join(f"  g{i}: {{runn: 'true'}}\n" for i in range(12))
    body = f"version: 1\ngates:\n  leak: {{run: 'true', {token}: 1}}\n{gates}"
    repo = init_repo(tmp_path / "repo", {"gates.yaml": body})
    env = {"GITHUB_ACTIONS": "true", "DEPLOY_TOKEN": token}
    result = run_cli(["run"], cwd=repo, env=env)
    assert result.returncode == 2
    errors = process(result.stdout).named("error")
    listed = [line for line in result.stderr.splitlines() if line.startswith("gates.yaml:")]
    assert len(listed) == 25  # two problems in each of 12 gates, and the leaking key
    assert len(errors) == 10
    assert errors[-1].data == "… and 16 more problems (the log lists them)"
    assert [e.data for e in errors[:9]] == [line.split(": ", 1)[1] for line in listed[:9]]
    assert errors[0].data.startswith("gates.leak.")
    assert "unknown key" in errors[0].data
    assert token not in result.stdout + result.stderr
