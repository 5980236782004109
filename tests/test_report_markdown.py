"""The Markdown summary, parsed back with a real CommonMark + tables parser (markdown-it-py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from mergegate.report import markdown
from mergegate.results import Annotation, GateResult, RunResult, SkipCause, Status
from tests.helpers import commit_all, run_cli, write_config

T0 = 1_700_000_000.0


@dataclass
class Parsed:
    headings: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)  # rows of cell texts
    fences: list[tuple[str, str]] = field(default_factory=list)  # (info, content)
    text: list[str] = field(default_factory=list)  # inline texts outside tables


def parse(md: str) -> Parsed:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    out = Parsed()
    row: list[str] | None = None
    in_heading = False
    for tok in tokens:
        if tok.type == "heading_open":
            in_heading = True
        elif tok.type == "heading_close":
            in_heading = False
        elif tok.type == "table_open":
            out.tables.append([])
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close" and row is not None:
            out.tables[-1].append(row)
            row = None
        elif tok.type == "inline":
            rendered = "".join(
                c.content if c.type in ("text", "code_inline") else "\n" if c.type == "softbreak"
                else "<br>" if c.content == "<br>" else ""
                for c in tok.children or ()
            )  # fmt: skip
            if row is not None:
                row.append(rendered)
            elif in_heading:
                out.headings.append(rendered)
            else:
                out.text.append(rendered)
        elif tok.type == "fence":
            out.fences.append((tok.info, tok.content))
    return out


def gate(
    name: str,
    status: Status = Status.PASSED,
    *,
    reason: str = "",
    started: float | None = T0,
    duration: float = 1.0,
    blocking: bool = True,
    skip_cause: SkipCause | None = None,
    output: str = "",
    commands: tuple[str, ...] = ("true",),
    kind: str = "command",
    details: Mapping[str, object] | None = None,
) -> GateResult:
    return GateResult(
        name=name,
        kind=kind,
        status=status,
        blocking=blocking,
        duration=duration,
        reason=reason or f"{name} {status.value}",
        details=details or {},
        output_tail=output,
        commands=commands,
        skip_cause=skip_cause,
        started=started,
    )


def run_of(*gates: GateResult, **kw: object) -> RunResult:
    defaults: dict[str, object] = {
        "started": T0,
        "duration": 4.5,
        "version": "9.8.7",
        "base": "origin/main",
        "base_sha": "b" * 40,
        "commit": "c" * 40,
    }
    defaults.update(kw)
    return RunResult(gates=gates, **defaults)  # type: ignore[arg-type]


def test_verdict_table_failures_and_reproduce_commands() -> None:
    run = run_of(
        gate("lint", commands=("ruff check .",)),
        gate("unit-tests", Status.FAILED, reason="3 passed, 1 failed; min_passed is 10",
             kind="tests", output="FAILED test_x\n"),
        gate("docs", Status.SKIPPED, skip_cause=SkipCause.FILTER, started=None, commands=()),
        gate("style", Status.FAILED, blocking=False, reason="exit code 1"),
    )  # fmt: skip
    parsed = parse(markdown.render(run))
    assert parsed.headings[0] == "❌ mergegate: merge blocked (exit 1)"
    table = parsed.tables[0]
    assert table[0] == ["gate", "kind", "status", "time", "reason"]
    assert table[1] == ["lint", "command", "✅ passed", "1.0s", "lint passed"]
    assert table[2][:3] == ["unit-tests", "tests", "❌ failed"]
    assert table[2][4] == "3 passed, 1 failed; min_passed is 10"
    assert table[3] == ["docs", "command", "⏭️ skipped (filter)", "—", "docs skipped"]
    assert table[4][2] == "❌ failed (non-blocking)"
    assert "Failures (2)" in parsed.headings
    assert "❌ unit-tests — failed" in parsed.headings
    assert "❌ style — failed (non-blocking)" in parsed.headings
    reproduce = [c.strip() for info, c in parsed.fences if info == "sh" and "--only" in c]
    assert reproduce == ["mergegate run --only unit-tests", "mergegate run --only style"]
    assert ("text", "FAILED test_x\n") in parsed.fences  # the output tail


def test_allowed_run_has_no_failures_section() -> None:
    parsed = parse(markdown.render(run_of(gate("a"), gate("b"))))
    assert parsed.headings[0] == "✅ mergegate: merge allowed"
    assert not any(h.startswith("Failures") for h in parsed.headings)
    assert "2 gate(s): 2 passed in 4.5s." in parsed.text


def test_skipped_by_needs_is_a_failure_with_its_reason() -> None:
    run = run_of(
        gate("build", Status.FAILED),
        gate("deploy", Status.SKIPPED, skip_cause=SkipCause.NEEDS, started=None,
             reason="needs build, which failed"),
    )  # fmt: skip
    parsed = parse(markdown.render(run))
    assert "⏭️ deploy — skipped (needs)" in parsed.headings
    assert "Reason: needs build, which failed" in parsed.text


def test_reproduce_names_a_non_default_config() -> None:
    extra = markdown.MergeRecord(config="ci/gates.yaml")
    text = markdown.render(run_of(gate("lint", Status.FAILED)), extra)
    assert "mergegate run -c ci/gates.yaml --only lint" in text


def test_cells_escape_pipes_newlines_and_markup() -> None:
    reason = "a | b\nsecond line <b>bold</b> *star* `tick` [link](http://x)"
    run = run_of(gate("weird", Status.FAILED, reason=reason, kind="k|ind"))
    parsed = parse(markdown.render(run))
    row = parsed.tables[0][1]
    assert len(row) == 5  # the pipe did not split the cell
    assert row[1] == "k|ind"
    assert row[4] == "a | b<br>second line <b>bold</b> *star* `tick` [link](http://x)"
    multi = [c for info, c in parsed.fences if info == "text"]
    assert multi[0] == reason + "\n"  # a multi-line reason is shown verbatim in a code block


def test_output_with_backticks_and_escapes_stays_in_its_block() -> None:
    tail = "```\n## not a heading\n\x1b[31mred\x1b[0m\x07 bell\n````\nend"
    parsed = parse(markdown.render(run_of(gate("g", Status.FAILED, output=tail))))
    assert ("text", "```\n## not a heading\nred bell\n````\nend\n") in parsed.fences
    assert "not a heading" not in parsed.headings


def _gantt(md: str) -> list[str]:
    blocks = [c for info, c in parse(md).fences if info == "mermaid"]
    assert len(blocks) == 1
    return blocks[0].splitlines()


def test_gantt_has_each_started_gate_with_its_start_and_end() -> None:
    run = run_of(
        gate("lint", started=T0, duration=1.25),
        gate("tests", Status.FAILED, started=T0 + 0.5, duration=3.0),
        gate("advisory", Status.FAILED, blocking=False, started=T0 + 1, duration=0.0),
        gate("never", Status.SKIPPED, skip_cause=SkipCause.NEEDS, started=None),
        gate("section", started=T0 + 2, duration=0.5),
    )
    lines = _gantt(markdown.render(run))
    assert lines[0] == "gantt"
    assert "    dateFormat x" in lines
    tasks = [ln.strip() for ln in lines if re.search(r":\w+, g\d+, ", ln)]
    parsed = [re.fullmatch(r"(.+?) :(\w+), (g\d+), (\d+), (\d+)", t) for t in tasks]
    rows = [(m.group(1), m.group(2), int(m.group(4)), int(m.group(5))) for m in parsed if m]
    assert rows == [
        ("passed - lint", "done", 1_700_000_000_000, 1_700_000_001_250),
        ("failed - tests", "crit", 1_700_000_000_500, 1_700_000_003_500),
        ("failed - advisory", "active", 1_700_000_001_000, 1_700_000_001_001),
        ("passed - section", "done", 1_700_000_002_000, 1_700_000_002_500),
    ]


def test_no_gantt_when_nothing_started() -> None:
    run = run_of(gate("a", Status.SKIPPED, skip_cause=SkipCause.SELECTION, started=None))
    parsed = parse(markdown.render(run))
    assert not [f for f in parsed.fences if f[0] == "mermaid"]
    assert "No gate started, so there is no timeline." in parsed.text


def test_gantt_task_names_cannot_break_the_chart() -> None:
    lines = _gantt(markdown.render(run_of(gate("a:b;c#d\n%%x"))))
    assert lines[-1] == "    passed - a_b_c_d___x :done, g0, 1700000000000, 1700000001000"


def test_merge_record_has_shas_version_and_every_command() -> None:
    run = run_of(
        gate("lint", commands=("ruff check .", "ruff format --check .")),
        gate("api", kind="semver", commands=()),
        gate("later", Status.SKIPPED, skip_cause=SkipCause.FILTER, started=None, commands=()),
    )
    extra = markdown.MergeRecord.from_environ(
        {
            "GITHUB_REPOSITORY": "acme/app",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_EVENT_NAME": "merge_group",
            "GITHUB_REF": "refs/heads/gh-readonly-queue/main/pr-1",
        },
        command="mergegate run --fail-fast",
    )
    parsed = parse(markdown.render(run, extra))
    assert "Merge record" in parsed.headings
    record = {r[0]: r[1] for r in parsed.tables[1][1:]}
    assert record["commit"] == "c" * 40
    assert record["base"] == f"origin/main at {'b' * 40}"
    assert record["mergegate"] == "9.8.7"
    assert record["verdict"] == "allowed (exit 0)"
    assert record["started"] == "2023-11-14 22:13:20 UTC"
    assert record["command"] == "mergegate run --fail-fast"
    assert record["event"] == "merge_group"
    assert record["workflow run"] == "https://github.com/acme/app/actions/runs/42/attempts/2"
    assert ("sh", "ruff check .\nruff format --check .\n") in parsed.fences
    assert "api (semver, passed): no command (decided by mergegate itself)" in parsed.text
    assert "later (command, skipped): no command (never started)" in parsed.text


def test_unresolved_base_is_said() -> None:
    parsed = parse(markdown.render(run_of(gate("a"), base_sha=None, base=None, commit=None)))
    record = {r[0]: r[1] for r in parsed.tables[1][1:]}
    assert record["base"] == "none (unresolved)"
    assert record["commit"] == "unknown"


def test_witness_entry_and_rollback_point() -> None:
    details = {
        "manifest": "verification.md.json",
        "newest": {"entry": 3, "message": "merge: #12 — fix", "sha256": "a" * 64,
                   "commit": "d" * 40, "timestamp": "2024-05-01T10:00:00Z", "files": 4},
        "previous": {"entry": 2, "message": "merge: #11", "sha256": "e" * 64},
        "signature": "signed by the trusted key",
        "base": {"ref": "origin/main", "sha": "f" * 40, "entries": 2},
        "new_entries": 1,
    }  # fmt: skip
    run = run_of(gate("witness", kind="witness", commands=(), details=details))
    parsed = parse(markdown.render(run))
    assert "Witness" in parsed.headings
    verified = next(t for t in parsed.text if t.startswith("verified entry"))
    assert verified == (
        f"verified entry: #3; message merge: #12 — fix; time 2024-05-01T10:00:00Z; "
        f"commit {'d' * 40}; digest {'a' * 64}; files 4"
    )
    previous = next(t for t in parsed.text if t.startswith("previous entry"))
    assert previous == (
        f"previous entry (the rollback point): #2; message merge: #11; digest {'e' * 64}"
    )
    assert "signature: signed by the trusted key" in parsed.text
    assert f"base: origin/main at {'f' * 40}, 2 entries there; 1 added by this change" in (
        parsed.text
    )


def test_witness_previous_entry_is_derived_when_not_recorded() -> None:
    first = {"newest": {"entry": 1, "sha256": "a" * 64}}
    later = {"newest": {"entry": 5, "sha256": "a" * 64}}
    texts = [
        parse(markdown.render(run_of(gate("w", kind="witness", details=d)))).text
        for d in (first, later)
    ]
    assert "previous entry (the rollback point): none: the verified entry is the first" in texts[0]
    assert "previous entry (the rollback point): #4" in texts[1]


def test_witness_without_details_says_so() -> None:
    parsed = parse(markdown.render(run_of(gate("w", Status.ERROR, kind="witness"))))
    assert "verified entry: none recorded" in parsed.text
    assert "previous entry (the rollback point): not recorded" in parsed.text


def test_summary_from_a_real_run_with_a_witness_gate(repo: Path) -> None:
    write_config(
        repo,
        """\
        version: 1
        gates:
          lint:
            run: echo linted
          broken:
            run: echo "it broke" && exit 2
          witness:
            kind: witness
        """,
    )
    (repo / "dist").mkdir()
    for i, message in enumerate(("release 1", "release 2 | hotfix")):
        (repo / "dist" / "app.js").write_text(f"v{i}\n")
        signed = run_cli(["witness", "sign", "-m", message], cwd=repo)
        assert signed.returncode == 0, signed.stderr
    head = commit_all(repo, "signed")
    result = run_cli(["run", "--summary", "out/summary.md"], cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    parsed = parse((repo / "out" / "summary.md").read_text(encoding="utf-8"))
    assert parsed.headings[0] == "❌ mergegate: merge blocked (exit 1)"
    rows = {r[0]: r for r in parsed.tables[0][1:]}
    assert rows["broken"][2] == "❌ failed"
    assert rows["witness"][2] == "✅ passed"
    assert ("sh", "mergegate run --only broken\n") in parsed.fences
    assert any(info == "mermaid" and "failed - broken :crit" in c for info, c in parsed.fences)
    record = {r[0]: r[1] for r in parsed.tables[1][1:]}
    assert record["commit"] == head
    assert ("sh", 'echo "it broke" && exit 2\n') in parsed.fences
    verified = next(t for t in parsed.text if t.startswith("verified entry"))
    assert verified.startswith("verified entry: #2; message release 2 | hotfix; time ")
    previous = next(t for t in parsed.text if t.startswith("previous entry"))
    assert previous.startswith("previous entry (the rollback point): #1; message release 1; time ")


def test_warnings_and_interruption_are_shown() -> None:
    run = run_of(gate("a"), interrupted=True, warnings=("API_TOKEN is too short to mask",))
    md = markdown.render(run)
    assert parse(md).headings[0] == "❌ mergegate: merge blocked (exit 130)"
    assert "The run was interrupted" in md
    assert "API\\_TOKEN is too short to mask" in md


def test_huge_output_is_left_out_to_stay_under_the_limit() -> None:
    big = ("x" * 200_000 + "\n") * 3  # each tail is cut to TAIL_CHARS; 80 of them are too many
    gates = [gate(f"g{i}", Status.FAILED, output=big, reason="exit code 1") for i in range(80)]
    md = markdown.render(run_of(*gates))
    assert len(md.encode()) <= markdown.MAX_BYTES
    parsed = parse(md)
    assert "left out to keep this summary under GitHub's 1 MiB limit" in md
    assert len(parsed.tables[0]) == 81  # every row is still there
    assert sum(1 for info, c in parsed.fences if info == "sh" and "--only" in c) == 80
    assert not any("xxx" in c for _, c in parsed.fences)


def test_a_very_large_run_is_cut_between_parts_and_says_so() -> None:
    reason = "é" * 250  # multi-byte: the budget counts bytes, not characters
    gates = [gate(f"gate-{i}", Status.FAILED, reason=reason) for i in range(3000)]
    md = markdown.render(run_of(*gates))
    assert len(md.encode()) <= markdown.MAX_BYTES
    assert "Summary truncated" in md
    parsed = parse(md)
    assert parsed.headings[0] == "❌ mergegate: merge blocked (exit 1)"
    assert parsed.headings[1] == "Failures (3000)"  # failures come first once it is cut
    assert all(info != "mermaid" for info, _ in parsed.fences)
    assert md.count("```") % 2 == 0  # no code block left open


def test_small_budget_keeps_whole_parts() -> None:
    gates = [gate(f"g{i}", Status.FAILED) for i in range(50)]
    md = markdown.render(run_of(*gates), budget=4_000)
    assert len(md.encode()) <= 4_000
    assert md.rstrip().endswith("The JSON report holds every result.")
    assert md.count("```") % 2 == 0


def test_annotations_do_not_leak_into_the_summary_unescaped() -> None:
    finding = Annotation("secret <script>", path="a.py", line=1)
    result = GateResult("f", "forbid", Status.FAILED, True, 0.1, "1 finding <script>",
                        annotations=(finding,), started=T0)  # fmt: skip
    md = markdown.render(run_of(result))
    assert "<script>" not in md
