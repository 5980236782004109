"""Reports: JUnit and JSON stay valid whatever gates print; secrets never reach any output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mergegate.report import json_report, junit
from mergegate.report.text import xml_safe
from mergegate.results import GateResult, RunResult, SkipCause, Status
from tests.helpers import GIT_IDENTITY, gate_json, load_json, parse_junit, run_cli, write_config

STATUSES = st.sampled_from(list(Status))


def make_run(reason: str, output: str, status: Status, name: str = "g") -> RunResult:
    gate = GateResult(
        name=name,
        kind="command",
        status=status,
        blocking=True,
        duration=0.5,
        reason=reason,
        details={"failures": [{"test": reason, "message": output[:50]}], reason[:10]: output[:10]},
        output_tail=output,
        commands=(reason,),
        skip_cause=SkipCause.FILTER if status is Status.SKIPPED else None,
        started=1.0,
    )
    return RunResult(gates=(gate,), started=0.0, duration=1.0, version="0.1.0")


@settings(max_examples=300, deadline=None)
@given(reason=st.text(), output=st.text(), status=STATUSES)
def test_any_text_yields_parseable_junit_and_loadable_json(
    reason: str, output: str, status: Status
) -> None:
    run = make_run(reason, output, status)
    xml = junit.render(run)
    from defusedxml import ElementTree as SafeET

    root = SafeET.fromstring(xml.encode("utf-8"), forbid_dtd=True)
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("time") is not None
    blocked = case.find("failure") is not None or case.find("error") is not None
    assert blocked == (run.exit_code == 1)
    data = json.loads(json_report.render(run))
    assert data["gates"][0]["status"] == status.value
    # and the JSON report round-trips into the same result objects
    back = json_report.load(json_report.render(run))
    assert back.verdict == run.verdict
    assert back.gates[0].status is status


@given(st.text())
def test_xml_safe_leaves_only_xml_characters(text: str) -> None:
    cleaned = xml_safe(text)
    for ch in cleaned:
        code = ord(ch)
        assert (
            code in (0x9, 0xA, 0xD)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or (code >= 0x10000)
        )
    assert "\x1b" not in cleaned


def test_json_round_trip_is_exact() -> None:
    run = make_run("exit code 1", "out\n", Status.FAILED)
    again = json_report.load(json_report.render(run))
    assert again.to_dict() == run.to_dict()


def test_control_and_invalid_utf8_output_gives_strict_junit(repo: Path) -> None:
    script = (
        r"printf 'a\000b\001c\033[31mred\033[0m \377\376 \013 ]]> &amp; <tag> \357\277\276\n'"
        "; exit 1"
    )
    write_config(repo, f"version: 1\ngates:\n  noisy:\n    run: {json.dumps(script)}\n")
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1
    root = parse_junit(repo / "reports" / "gates.xml")
    case = root.find("testsuite/testcase")
    assert case is not None
    out = case.findtext("system-out") or ""
    assert "red" in out
    assert "]]> &amp; <tag>" in out
    assert "\x1b" not in out
    assert "\x00" not in out
    report = load_json(repo / "reports" / "gates.json")
    assert "red" in gate_json(report, "noisy")["output_tail"]


def test_huge_output_keeps_memory_and_reports_small(repo: Path) -> None:
    write_config(
        repo,
        """
        version: 1
        gates:
          flood:
            run: "echo BEGIN; { yes 0123456789abcdefghij || true; } | head -c 300000000; echo END"
    """,
    )
    wrapper = (
        "import resource, subprocess, sys\n"
        "argv = [sys.executable, '-m', 'mergegate', 'run']\n"
        "p = subprocess.run(argv, stdout=subprocess.DEVNULL)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = {**os.environ, **GIT_IDENTITY}
    out = subprocess.run(
        [sys.executable, "-c", wrapper],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    returncode, max_rss_kib = int(out[0]), int(out[1])
    assert returncode == 0
    assert max_rss_kib < 120 * 1024, f"peak RSS {max_rss_kib / 1024:.0f} MiB"
    assert (repo / "reports" / "gates.xml").stat().st_size < 64 * 1024
    tail = gate_json(load_json(repo / "reports" / "gates.json"), "flood")["output_tail"]
    assert tail.endswith("END\n")
    assert "bytes of output omitted" in tail


def test_secrets_never_reach_any_output(repo: Path) -> None:
    token = "tok-9f8e7d6c5b4a"
    webhook = "https://hooks.example.invalid/T000/B000/XXXX"
    write_config(
        repo,
        """
        version: 1
        redact: [DEPLOY_WEBHOOK]
        gates:
          leak:
            description: prints both secrets
            run: 'echo "token=$MY_API_TOKEN hook=$DEPLOY_WEBHOOK"; echo "$MY_API_TOKEN" >&2; exit 1'
          reason-leak:
            run: [sh, -c, 'exec "$MY_API_TOKEN"']
    """,
    )
    env = {"MY_API_TOKEN": token, "DEPLOY_WEBHOOK": webhook, "GITHUB_ACTIONS": "false"}
    summary = repo / "summary.md"
    proc = run_cli(["run", "--summary", str(summary)], cwd=repo, env=env)
    assert proc.returncode == 1
    outputs = {
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "junit": (repo / "reports" / "gates.xml").read_text(),
        "json": (repo / "reports" / "gates.json").read_text(),
        "summary": summary.read_text(),
    }
    for where, text in outputs.items():
        assert token not in text, where
        assert webhook not in text, where
    assert "token=*** hook=***" in outputs["json"]
    assert "***: not found" in outputs["json"]


def test_redaction_covers_every_field_of_a_result() -> None:
    from mergegate.redact import Redactor
    from mergegate.results import Annotation
    from mergegate.runner import redact_result

    secret = "s3cr3t-value-123"
    redactor = Redactor.from_environ({"SERVICE_CREDENTIAL": secret, "PATH": "/usr/bin"})
    result = GateResult(
        name="g",
        kind="command",
        status=Status.FAILED,
        blocking=True,
        duration=1.0,
        reason=f"bad {secret}",
        details={"k": [secret, {secret: secret}]},
        output_tail=f"x{secret}y",
        commands=(f"deploy --key {secret}",),
        annotations=(Annotation(f"found {secret}", path=f"{secret}.txt"),),
        description=secret,
    )
    clean = json.dumps(redact_result(result, redactor).to_dict())
    assert secret not in clean
    assert clean.count("***") == 9


def test_short_secret_is_not_masked_but_warned(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {run: 'echo $DB_PASSWORD'}\n")
    proc = run_cli(["run"], cwd=repo, env={"DB_PASSWORD": "abc"})
    assert proc.returncode == 0
    assert "DB_PASSWORD looks secret but is shorter than 4 characters" in proc.stdout
    assert "DB_PASSWORD" in " ".join(load_json(repo / "reports" / "gates.json")["warnings"])


# -- JUnit red <=> exit != 0, on every path (interruption included) ---------------------

SKIP_CAUSES = st.sampled_from([None, *SkipCause])


@st.composite
def gate_results(draw: st.DrawFn, index: int) -> GateResult:
    status = draw(STATUSES)
    cause = draw(SKIP_CAUSES) if status is Status.SKIPPED else None
    return GateResult(
        name=f"g{index}",
        kind=draw(st.sampled_from(["command", "tests", "smoke", "forbid"])),
        status=status,
        blocking=draw(st.booleans()),
        duration=draw(st.floats(0, 1e4)),
        reason=draw(st.sampled_from(["", "exit code 1", "interrupted while running"])),
        skip_cause=cause,
    )


@st.composite
def runs(draw: st.DrawFn) -> RunResult:
    count = draw(st.integers(0, 6))
    gates = tuple(draw(gate_results(i)) for i in range(count))
    return RunResult(
        gates=gates,
        started=0.0,
        duration=1.0,
        version="0.1.0",
        interrupted=draw(st.booleans()),
    )


def _red(xml: str) -> bool:
    from defusedxml import ElementTree as SafeET

    root = SafeET.fromstring(xml.encode("utf-8"), forbid_dtd=True, forbid_entities=True)
    cases = list(root.iter("testcase"))
    bad = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    counted = int(root.get("failures", "0")) + int(root.get("errors", "0"))
    assert counted == len(bad)  # the totals a consumer reads agree with the cases
    return bool(bad)


@settings(max_examples=500, deadline=None)
@given(run=runs())
def test_junit_is_red_exactly_when_the_exit_code_is_not_zero(run: RunResult) -> None:
    """statuses x blocking x skip causes (needs, filter, selection, stopped) x interruption."""
    assert _red(junit.render(run)) == (run.exit_code != 0)
    data = json.loads(json_report.render(run))
    assert (data["verdict"] == "blocked") == (data["exit_code"] != 0)
    assert data["exit_code"] == run.exit_code


def test_an_interrupted_run_whose_gates_all_passed_is_red() -> None:
    run = make_run("exit code 0", "", Status.PASSED)
    interrupted = RunResult(run.gates, 0.0, 1.0, "0.1.0", interrupted=True)
    from defusedxml import ElementTree as SafeET

    root = SafeET.fromstring(junit.render(interrupted).encode(), forbid_dtd=True)
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "interrupted"]
    assert case.get("classname") == "gates.run"
    error = case.find("error")
    assert error is not None
    assert "interrupted" in (error.get("message") or "")
    assert interrupted.exit_code == 130


def test_sigint_while_only_a_non_blocking_gate_runs_gives_a_red_junit(repo: Path) -> None:
    write_config(
        repo,
        f"""
        version: 1
        gates:
          quick: {{run: "true"}}
          advisory: {{run: "echo $$ > {repo}/advisory.pid; sleep 300", blocking: false}}
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mergegate", "run"],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    from tests.test_proc import assert_gone, wait_for_file

    pid = int(wait_for_file(repo / "advisory.pid", timeout=60))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    assert_gone(pid, within=30)
    root = parse_junit(repo / "reports" / "gates.xml")
    assert int(root.get("errors", "0")) + int(root.get("failures", "0")) >= 1
    report = load_json(repo / "reports" / "gates.json")
    assert report["exit_code"] == 130
    assert report["verdict"] == "blocked"
