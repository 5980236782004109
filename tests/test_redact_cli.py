"""End to end: gates print secrets in every shape; no report of the real CLI shows one.

Channels: console (log and coloured), a pseudo-terminal with the live display,
GitHub stdout (annotations and groups), the step summary, ``--summary``,
gates.xml and gates.json (raw and parsed), stderr and ``--dry-run``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mergegate.redact import clean
from tests.helpers import GIT_IDENTITY, parse_junit, run_cli, write_config
from tests.test_redact import _decodes_to_a_piece_of

RNG = random.Random(12)
# 4-grams of these letters appear in no template text; digits would (times, pids, sizes)
ODD = "QWXZJKVqwxzjkv"


def _random(n: int) -> str:
    return "".join(RNG.choice(ODD) for _ in range(n))


TOKEN = "ghp_" + _random(36)
HOOK_PART = _random(24)
HOOK = f"https://hooks.invalid/T0/{HOOK_PART}"
PASSWORD_PART = _random(12)
PASSWORD = f"pä ss/wörd€&={PASSWORD_PART}"
ENV = {"GITHUB_TOKEN": TOKEN, "DEPLOY_HOOK": HOOK + "\r", "DB_PASSWORD": PASSWORD}
RANDOM_PARTS = (TOKEN[4:], HOOK_PART, PASSWORD_PART)
PY = sys.executable


def _py(code: str) -> str:
    return f"{PY} -c {json.dumps(code)}"


# The value straddles a cut: k bytes of it before the head ends / before the tail starts.
CUT_HEAD = "t = os.environ['GITHUB_TOKEN']; print('x' * (4096 - 7) + t + 'y' * 100000)"
CUT_TAIL = "t = os.environ['GITHUB_TOKEN']; print('x' * 100000 + t + 'y' * (16383 - len(t) + 11))"
SMOKE = "t = os.environ['GITHUB_TOKEN']; print('x' * 8000 + t + 'y' * (2999 - len(t) + 13))"
GATES = {
    "ansi": r"""printf 'ghp_\033[1m%s\n' "${GITHUB_TOKEN#ghp_}" """,
    "bell": r"""printf '%s\a%s\b\n' "${GITHUB_TOKEN:0:9}" "${GITHUB_TOKEN:9}" """,
    "trimmed": r"""printf 'hook=%s.\n' "${DEPLOY_HOOK%$'\r'}" """,
    "base64": r"""for p in '' a ab; do
        printf '%s%s\n' "$p" "$GITHUB_TOKEN" | base64 -w0; echo
        printf '%s%s' "$p" "$DB_PASSWORD" | base64 -w0 | tr '+/' '-_'; echo
        printf '%s%s' "$p" "$DEPLOY_HOOK" | base64; done""",
    "percent": _py(
        "import os, urllib.parse as u; v = os.environ['DB_PASSWORD']; "
        "print(u.quote(v, safe=''), u.quote_plus(v), u.quote(os.environ['DEPLOY_HOOK']))"
    ),
    "huge-line": _py("import os; print('x' * 200000 + os.environ['GITHUB_TOKEN'])"),
    "cut-head": _py("import os; " + CUT_HEAD),
    "cut-tail": _py("import os; " + CUT_TAIL),
}


def _config(root: Path) -> None:
    lines = ["version: 1", "redact: [DEPLOY_HOOK]", "gates:"]
    for name, command in GATES.items():
        lines += [f"  {name}:", f"    run: {json.dumps(command.strip() + '; exit 1')}"]
    lines += ["  literal:", f"    run: [echo, {json.dumps(PASSWORD)}]"]
    lines += ["  reason:", f"    run: [{json.dumps(PASSWORD)}]"]  # "executable not found: …"
    lines += ["  smoke:", "    kind: smoke", "    scripts: scripts/smoke-*.py"]
    write_config(root, "\n".join(lines) + "\n")
    (root / "scripts").mkdir()
    (root / "scripts" / "smoke-leak.py").write_text(f"import os, sys\n{SMOKE}\nsys.exit(1)\n")


def _pty_run(root: Path, env: Mapping[str, str]) -> str:
    """The CLI on a pseudo-terminal with the live display on: what a developer sees."""
    master, slave = os.openpty()
    full = {**os.environ, **GIT_IDENTITY, **env, "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [PY, "-m", "mergegate", "run", "--junit", "pty.xml", "--json", "pty.json"],
        cwd=root,
        env=full,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=300) == 1
    return b"".join(chunks).decode("utf-8", "replace")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _parsed_xml(path: Path) -> str:
    root = parse_junit(path)
    texts = [e.text or "" for e in root.iter()]
    return "\n".join(texts + [v for e in root.iter() for v in e.attrib.values()])


def _assert_clean(where: str, text: str) -> None:
    for view in (text, clean(text)):
        for value in (TOKEN, HOOK, PASSWORD):
            assert value not in view, where
        for part in RANDOM_PARTS:
            grams = {part[i : i + 4] for i in range(len(part) - 3)}
            found = sorted(g for g in grams if g in view)
            assert not found, (where, found)
        for value in (TOKEN, HOOK, PASSWORD):
            assert not _decodes_to_a_piece_of(value.encode(), view, 5), where


@pytest.mark.slow
def test_no_secret_in_any_channel_of_a_real_run(repo: Path) -> None:
    _config(repo)
    step = repo / "step-summary.md"
    github = run_cli(
        ["run", "--summary", "summary.md"],
        cwd=repo,
        env={**ENV, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)},
        timeout=300,
    )
    assert github.returncode == 1, github.stderr
    outputs = {
        "github stdout": github.stdout,
        "github stderr": github.stderr,
        "step summary": step.read_text(),
        "--summary": (repo / "summary.md").read_text(),
        "gates.xml": (repo / "reports" / "gates.xml").read_text(),
        "gates.xml parsed": _parsed_xml(repo / "reports" / "gates.xml"),
        "gates.json": (repo / "reports" / "gates.json").read_text(),
    }
    report = json.loads(outputs["gates.json"])
    outputs["gates.json parsed"] = "\n".join(_strings(report))
    console = run_cli(["run"], cwd=repo, env={**ENV, "FORCE_COLOR": "1"}, timeout=300)
    outputs |= {"console": console.stdout, "console stderr": console.stderr}
    outputs["pty"] = _pty_run(repo, ENV)
    dry = run_cli(["run", "--dry-run"], cwd=repo, env=ENV)
    outputs["dry-run"] = dry.stdout + dry.stderr
    for where, text in outputs.items():
        _assert_clean(where, text)
    _assert_the_gates_did_print(report, outputs)


def _assert_the_gates_did_print(report: dict[str, object], outputs: Mapping[str, str]) -> None:
    """Each gate printed its secret (now masked), so the checks above were not vacuous."""
    gates = {g["name"]: g for g in report["gates"]}  # type: ignore[attr-defined]
    for name in ("ansi", "bell", "trimmed", "huge-line", "percent"):
        assert "***" in gates[name]["output_tail"], name
    assert gates["base64"]["output_tail"].count("***") >= 9
    for name in ("cut-head", "cut-tail"):
        assert "bytes cut]" in gates[name]["output_tail"], name
        assert "***" in gates[name]["output_tail"], name
    script = gates["smoke"]["details"]["scripts"][0]["output_tail"]
    assert "characters cut]" in script
    assert "***" in script
    assert "***" in gates["reason"]["reason"]
    assert "***" in outputs["dry-run"]
    assert "***" in outputs["pty"]


def test_merge_masks_what_the_shards_did_not_know_was_secret(repo: Path) -> None:
    """The writers' own last pass: a shard printed a value under an innocent name; the
    merge job holds it as a secret, and no merged output shows it."""
    write_config(
        repo,
        """
        version: 1
        gates:
          leak:
            run: 'printf "v=\\033[1m%s\\n" "$PLAIN"; exit 1'
        """,
    )
    shard = run_cli(["run", "--json", "shard.json"], cwd=repo, env={"PLAIN": TOKEN})
    assert shard.returncode == 1
    assert TOKEN.removeprefix("ghp_") in (repo / "shard.json").read_text()  # the shard kept it
    step = repo / "step.md"
    env = {"DEPLOY_TOKEN": TOKEN, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)}
    merged = run_cli(
        ["merge", "shard.json", "--json", "m.json", "--junit", "m.xml", "--summary", "m.md"],
        cwd=repo,
        env=env,
    )
    assert merged.returncode == 1, merged.stderr
    outputs = {
        "stdout": merged.stdout,
        "stderr": merged.stderr,
        "json": (repo / "m.json").read_text(),
        "junit": (repo / "m.xml").read_text(),
        "junit parsed": _parsed_xml(repo / "m.xml"),
        "summary": (repo / "m.md").read_text(),
        "step summary": step.read_text(),
    }
    for where, text in outputs.items():
        _assert_clean(where, text)
    assert "v=***" in outputs["json"]
