"""The forbid gate on real git repositories: findings located, never the matched text."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mergegate.config import load_config
from mergegate.forbid_patterns import SECRETS
from mergegate.gates import GateContext, PlanContext
from mergegate.gates import forbid as forbid_gate
from mergegate.gates.forbid import ForbidSpec as ForbidGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import Outcome, Status
from mergegate.spec import compile_gate
from tests.helpers import (
    commit_all,
    gate_json,
    git,
    init_repo,
    load_json,
    run_cli,
    write_files,
)

# Fake credentials are assembled at run time so this file never holds one literally.
AWS_KEY = "AKIA" + "Q7RZ" * 4
GH_TOKEN = "ghp" + "_" + "a1B2" * 9

SECRETS_CONFIG = """\
version: 1
gates:
  no-secrets:
    kind: forbid
    paths: ["**/*"]
    exclude: ["reports/**"]
    builtin: [secrets]
"""


@pytest.fixture
def procs() -> Iterator[ProcessManager]:
    manager = ProcessManager()
    yield manager
    manager.close()


def make_repo(tmp_path: Path, files: Mapping[str, str], config: str = SECRETS_CONFIG) -> Path:
    repo = init_repo(tmp_path / "repo", {".gitignore": "reports/\n", **files, "gates.yaml": config})
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def context(repo: Path, procs: ProcessManager, name: str) -> GateContext[ForbidGate]:
    loaded = load_config(repo / "gates.yaml")
    gate = loaded.gates[name]
    assert isinstance(gate, ForbidGate)
    base = LazyBase(loaded.root, None, loaded.config.base, {})
    return GateContext(
        name, gate, loaded, base, dict(os.environ), repo, 60.0, procs, threading.Event()
    )


def run_gate(repo: Path, procs: ProcessManager, name: str = "no-secrets") -> Outcome:
    return forbid_gate.run(context(repo, procs, name))


def everything_written(repo: Path, *texts: str) -> str:
    reports = [p.read_text(errors="replace") for p in (repo / "reports").rglob("*") if p.is_file()]
    return "\n".join([*texts, *reports])


# -- the secrets set ------------------------------------------------------------------


def test_key_found_with_file_line_and_absent_from_every_report(tmp_path: Path) -> None:
    settings = f'DEBUG = True\n\n    aws_key = "{AWS_KEY}"\n'
    repo = make_repo(tmp_path, {"config/settings.py": settings, "README.md": "hi\n"})
    summary = repo / "reports" / "summary.md"
    proc = run_cli(["run", "--summary", str(summary)], cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = gate_json(load_json(repo / "reports" / "gates.json"), "no-secrets")
    assert gate["status"] == "failed"
    assert "config/settings.py:3:16" in gate["reason"]
    assert "aws-access-key-id ×1" in gate["reason"]
    assert gate["details"]["findings"] == [
        {
            "path": "config/settings.py",
            "line": 3,
            "col": 16,
            "pattern": "aws-access-key-id",
            "preview": "AKIA***",
            "found_in": "content",
        }
    ]
    note = gate["annotations"][0]
    assert (note["path"], note["line"], note["col"]) == ("config/settings.py", 3, 16)
    assert "file=config/settings.py,line=3" in proc.stdout  # the GitHub annotation
    written = everything_written(repo, proc.stdout, proc.stderr)
    assert summary.is_file()
    assert "AKIA***" in written
    assert AWS_KEY not in written
    assert AWS_KEY[4:] not in written


def test_clean_tree_passes(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"src/app.py": "print('hello')\n", ".env.example": "KEY=\n"})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["files_scanned"] == 4  # app.py, .env.example, gates.yaml, .gitignore


def test_untracked_files_are_scanned_ignored_ones_are_not(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n", ".gitignore": "secret.local\nreports/\n"})
    (repo / "secret.local").write_text(f"token = {GH_TOKEN}\n")
    assert run_gate(repo, procs).status is Status.PASSED
    (repo / "notes.txt").write_text(f"\n\ntoken = {GH_TOKEN}\n")
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert outcome.details["findings"][0]["path"] == "notes.txt"
    assert (outcome.details["findings"][0]["line"], outcome.details["findings"][0]["col"]) == (3, 9)


SAMPLES = {
    "aws-access-key-id": AWS_KEY,
    "aws-secret-access-key": "aws_secret_access_key = " + "wJalrXUtnFEMIK7MDENGbPxRfiCY" + "A" * 12,
    "github-token": GH_TOKEN,
    "github-fine-grained-token": "github_pat_" + "A" * 22 + "_" + "b" * 59,
    "gitlab-token": "glpat" + "-" + "x1Y2z3" * 4,
    "slack-token": "xoxb" + "-" + "1234567890" + "-" + "abcdefABCDEF123",
    "slack-webhook": "https://hooks.slack.com/services/" + "T0ABCDEF1/B0ABCDEF2/" + "x" * 24,
    "private-key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "stripe-secret-key": "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "google-api-key": "AIza" + "S" * 35,
    "google-oauth-client-secret": "GOCSPX" + "-" + "a" * 28,
    "npm-token": "npm" + "_" + "Z" * 36,
    "pypi-token": "pypi" + "-AgEIcHlwaS5vcmc" + "q" * 60,
    "openai-api-key": "sk" + "-proj-" + "k" * 48,
    "anthropic-api-key": "sk" + "-ant-api03-" + "m" * 90,
    "sendgrid-api-key": "SG." + "a" * 22 + "." + "b" * 43,
    "digitalocean-token": "dop" + "_v1_" + "a" * 64,
    "shopify-token": "shpat" + "_" + "f" * 32,
    "docker-hub-token": "dckr" + "_pat_" + "d" * 27,
    "hashicorp-vault-token": "hvs." + "v" * 30,
    "azure-storage-key": "AccountKey=" + "A" * 86 + "==",
    "age-secret-key": "AGE-SECRET" + "-KEY-1" + "Q" * 58,
}


def test_every_builtin_pattern_has_a_sample() -> None:
    assert set(SAMPLES) == set(SECRETS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_builtin_pattern_finds_its_format(name: str) -> None:
    rules = [r for r in forbid_gate.compile_rules(_gate(builtin=["secrets"])) if r.name == name]
    found = list(forbid_gate.scan_text(f"x = '{SAMPLES[name]}'\n", 1, 0, rules))
    assert [(f.pattern, f.line, f.col) for f in found] == [(name, 1, 6)]
    assert SAMPLES[name] not in found[0].preview


def test_case_insensitive_pattern_found_in_any_case() -> None:
    rules = forbid_gate.compile_rules(_gate(builtin=["secrets"]))
    line = "AWS_SECRET_ACCESS_KEY: " + "wJalrXUtnFEMIK7MDENGbPxRfiCY" + "B" * 12 + "\n"
    found = list(forbid_gate.scan_text("x = 1\n" * 1000 + line, 1, 0, rules))
    assert [(f.pattern, f.line, f.col) for f in found] == [("aws-secret-access-key", 1001, 1)]


BENIGN = """\
import os
AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]
token = "ghp_xxx"  # placeholder
key = "AKIA" + suffix
sk-learn is a library; xoxb- is a prefix
-----BEGIN PUBLIC KEY-----
"""


def test_builtin_patterns_ignore_look_alikes() -> None:
    rules = forbid_gate.compile_rules(_gate(builtin=["secrets"]))
    assert list(forbid_gate.scan_text(BENIGN, 1, 0, rules)) == []


def _gate(**kw: object) -> ForbidGate:
    spec = compile_gate(forbid_gate.model().model_validate({"kind": "forbid", **kw}))
    assert isinstance(spec, ForbidGate)
    return spec


def test_preview_never_shows_a_short_match_whole() -> None:
    assert forbid_gate.preview(AWS_KEY) == "AKIA***"
    assert forbid_gate.preview("abcd") == "ab***"
    assert forbid_gate.preview("x") == "***"


# -- policy patterns ----------------------------------------------------------------

POLICY_CONFIG = """\
version: 1
gates:
  oss-only:
    kind: forbid
    paths: ["**/*.py", "**/*.yaml"]
    patterns:
      jwt-auth: "enable_jwt_auth"
      internal-host: 'corp\\.example\\.net'
"""


def test_policy_pattern_in_yaml(tmp_path: Path, procs: ProcessManager) -> None:
    files = {
        "proxy/config.yaml": "general_settings:\n  enable_jwt_auth: true\n",
        "proxy/app.py": "HOST = 'api.corp.example.net'\n",
        "docs/notes.md": "enable_jwt_auth is an enterprise feature\n",  # not under paths
    }
    repo = make_repo(tmp_path, files, POLICY_CONFIG)
    outcome = run_gate(repo, procs, "oss-only")
    assert outcome.status is Status.FAILED
    located = [(f["path"], f["line"], f["col"], f["pattern"]) for f in outcome.details["findings"]]
    assert sorted(located) == [
        ("proxy/app.py", 1, 13, "internal-host"),
        ("proxy/config.yaml", 2, 3, "jwt-auth"),
    ]
    assert "2 finding(s) in 2 file(s)" in outcome.reason
    assert "jwt-auth ×1" in outcome.reason
    assert "internal-host ×1" in outcome.reason
    # gates.yaml spells the patterns out; it is not a finding
    assert all(f["path"] != "gates.yaml" for f in outcome.details["findings"])


def test_exclude_and_gates_yaml_still_checked_for_secrets(
    tmp_path: Path, procs: ProcessManager
) -> None:
    config = POLICY_CONFIG.replace('"**/*.yaml"]', '"**/*.yaml"]\n    exclude: ["proxy/**"]')
    config += "    builtin: [secrets]\n# " + AWS_KEY + "\n"
    files = {"proxy/config.yaml": "enable_jwt_auth: true\n"}
    repo = make_repo(tmp_path, files, config)
    outcome = run_gate(repo, procs, "oss-only")
    assert outcome.status is Status.FAILED
    assert [(f["path"], f["pattern"]) for f in outcome.details["findings"]] == [
        ("gates.yaml", "aws-access-key-id")
    ]


def test_pattern_matching_the_empty_string_is_an_error(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, {"a.py": "x\n"}, POLICY_CONFIG.replace("enable_jwt_auth", "x*"))
    outcome = run_gate(repo, procs, "oss-only")
    assert outcome.status is Status.ERROR
    assert "matches the empty string" in outcome.reason


def test_paths_matching_nothing_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"a.txt": "x\n"}, POLICY_CONFIG)
    outcome = run_gate(repo, procs, "oss-only")  # gates.yaml only: *.yaml matches it
    assert outcome.status is Status.PASSED
    config = POLICY_CONFIG.replace('["**/*.py", "**/*.yaml"]', '["src/**/*.py"]')
    write_files(repo, {"gates.yaml": config})
    outcome = run_gate(repo, procs, "oss-only")
    assert outcome.status is Status.ERROR
    assert "match no file" in outcome.reason


# -- changed_only -------------------------------------------------------------------

CHANGED_CONFIG = SECRETS_CONFIG + "    changed_only: true\n"


def test_changed_only(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(
        tmp_path, {"old.py": f"KEY = '{AWS_KEY}'\n", "new.py": "x = 1\n"}, CHANGED_CONFIG
    )
    write_files(repo, {"new.py": "x = 2\n"})
    commit_all(repo, "touch new.py")
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["files_scanned"] == 1
    assert "changed file(s) since main" in outcome.reason
    write_files(repo, {"new.py": f"x = 2\nKEY = '{GH_TOKEN}'\n"})  # uncommitted counts too
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert [(f["path"], f["line"]) for f in outcome.details["findings"]] == [("new.py", 2)]
    everything = context(repo, procs, "no-secrets")
    write_files(repo, {"gates.yaml": SECRETS_CONFIG})
    assert everything.gate.changed_only
    assert run_gate(repo, procs).details["finding_count"] == 2  # old.py too, without it


def test_changed_only_with_unknown_base_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    config = CHANGED_CONFIG.replace("version: 1\n", "version: 1\nbase: origin/main\n")
    repo = make_repo(tmp_path, {"a.py": "x\n"}, config)
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "fetch-depth: 0" in outcome.reason


# -- files: binary, large, symlinks -------------------------------------------------


def test_binary_file_is_skipped(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    (repo / "blob.bin").write_bytes(b"\x89PNG\0\0" + AWS_KEY.encode() + b"\n")
    (repo / "late-nul.txt").write_bytes(b"x" * 9000 + b"\0" + AWS_KEY.encode())
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED  # the NUL is past the sniffed 8 KiB: text
    assert [f["path"] for f in outcome.details["findings"]] == ["late-nul.txt"]
    assert outcome.details["binary_skipped"] == 1


def test_large_file_streamed_with_exact_positions(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    line = "x" * 99 + "\n"
    body = line * 30_000 + f"  {AWS_KEY}\n" + line * 5  # ~3 MB, several blocks
    (repo / "big.log").write_text(body)
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    finding = outcome.details["findings"][0]
    assert (finding["path"], finding["line"], finding["col"]) == ("big.log", 30_001, 3)


def test_single_huge_line_cut_across_blocks(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    block = forbid_gate.BLOCK_BYTES
    # the first cut falls OVERLAP bytes before the end of the sniffed head + one block:
    # the first key starts 10 bytes before it, the second sits two blocks further on
    start = forbid_gate.SNIFF_BYTES + block - forbid_gate.OVERLAP_BYTES - 10
    filler = "\u00e9" + "y" * (start - 3) + " "  # a 2-byte character: columns count characters
    text = filler + AWS_KEY + " " + "z" * (block * 2) + " " + GH_TOKEN + "\nend\n"
    (repo / "min.js").write_text(text)
    outcome = run_gate(repo, procs)
    found = [(f["line"], f["col"], f["pattern"]) for f in outcome.details["findings"]]
    second = start + len(AWS_KEY) + 2 * block + 2
    assert found == [(1, start, "aws-access-key-id"), (1, second, "github-token")]


def test_blocks_bound_memory_on_a_line_without_newline() -> None:
    data = b"a" * (forbid_gate.BLOCK_BYTES * 5)
    sizes = [len(t) for t, _, _ in forbid_gate.blocks(io.BytesIO(data[8192:]), data[:8192])]
    assert max(sizes) <= forbid_gate.BLOCK_BYTES * 2
    assert sum(sizes) >= len(data)


def test_symlink_out_of_the_tree_is_not_followed(tmp_path: Path, procs: ProcessManager) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.txt").write_text(f"{AWS_KEY}\n")
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    (repo / "link.txt").symlink_to(outside / "creds.txt")
    (repo / "linkdir").symlink_to(outside)
    commit_all(repo, "links")
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["symlinks_scanned"] == 2  # their target text, not what they point at
    assert "2 symlink target(s)" in outcome.reason


# -- blind spots: UTF-16/32, symlink targets, file names -----------------------------------

ENCODED = {
    "utf-16 with BOM": ("utf-16", True),
    "utf-16-le": ("utf-16-le", False),
    "utf-16-be": ("utf-16-be", False),
    "utf-32 with BOM": ("utf-32", True),
    "utf-32-le": ("utf-32-le", False),
    "utf-32-be": ("utf-32-be", False),
}


@pytest.mark.parametrize("label", sorted(ENCODED))
def test_utf16_and_utf32_files_are_decoded_not_skipped(
    tmp_path: Path, procs: ProcessManager, label: str
) -> None:
    encoding, _ = ENCODED[label]
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    text = "\u00e9t\u00e9 = 1\r\nname = 'x'\r\n  key = " + AWS_KEY + "\r\n"
    (repo / "creds.reg").write_bytes(text.encode(encoding))
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED, outcome.reason
    finding = outcome.details["findings"][0]
    assert (finding["path"], finding["line"], finding["col"]) == ("creds.reg", 3, 9)
    assert outcome.details["binary_skipped"] == 0
    assert outcome.details["decoded"] == {encoding[:6].upper(): 1}


def test_sniffing_tells_text_from_binary() -> None:
    assert forbid_gate.sniff_encoding(b"plain") == "utf-8"
    assert forbid_gate.sniff_encoding(b"\xef\xbb\xbfplain") == "utf-8-sig"
    assert forbid_gate.sniff_encoding(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR") is None
    assert forbid_gate.sniff_encoding(b"\0" * 64) is None
    assert forbid_gate.sniff_encoding("ab".encode("utf-16-le")) == "utf-16-le"
    assert forbid_gate.sniff_encoding("ab".encode("utf-32-be")) == "utf-32-be"
    cjk = "\u4e00\u4e01 key = AKIA \U0001f600".encode("utf-16-le")  # U+4E00 has a NUL low byte
    assert forbid_gate.sniff_encoding(cjk) == "utf-16-le"
    assert forbid_gate.sniff_encoding("a\U0001f600b".encode("utf-32-le")) == "utf-32-le"


def test_a_key_committed_as_a_symlink_target_is_found(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    (repo / "token").symlink_to(f"/run/secrets/{GH_TOKEN}")
    commit_all(repo, "a link whose text is the secret")
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    finding = outcome.details["findings"][0]
    assert (finding["path"], finding["line"], finding["col"]) == ("token", 1, 14)
    assert finding["found_in"] == "symlink target"
    assert "token:1:14 (symlink target)" in outcome.reason


def test_a_key_in_a_file_name_is_found_and_never_shown(tmp_path: Path) -> None:
    files = {
        f"keys/{AWS_KEY}.txt": "fine\n",
        f"{GH_TOKEN}/a.txt": f"{AWS_KEY}\n",
        f"{GH_TOKEN}/b.txt": "fine\n",
    }
    repo = make_repo(tmp_path, files)
    proc = run_cli(["run"], cwd=repo, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = gate_json(load_json(repo / "reports" / "gates.json"), "no-secrets")
    found = sorted((f["path"], f["found_in"], f["pattern"]) for f in gate["details"]["findings"])
    assert found == [
        ("ghp_***", "file name", "github-token"),  # the directory, once for both files
        ("ghp_***/a.txt", "content", "aws-access-key-id"),
        ("keys/AKIA***", "file name", "aws-access-key-id"),
    ]
    assert [a["path"] for a in gate["annotations"]] == [None, None, None]  # no real path to show
    written = everything_written(repo, proc.stdout, proc.stderr)
    for secret in (AWS_KEY, GH_TOKEN):
        assert secret[4:] not in written


# -- one file set per run -------------------------------------------------------------------

SET_CONFIG = """\
version: 1
gates:
  writer:
    run: >-
      t=ghp; t=${{t}}_; for i in 1 2 3 4 5 6 7 8 9; do t=${{t}}a1B2; done;
      echo "token = $t" > late.txt && mkdir -p .cache && echo x > .cache/y
  no-secrets:
    kind: forbid
    paths: ["**/*"]
    builtin: [secrets]
    needs: [writer]
"""


def test_the_file_set_is_listed_once_before_any_gate_runs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "fine\n", ".gitignore": ".cache/\n"})
    (repo / "gates.yaml").write_text(SET_CONFIG.format())
    counts = []
    for _ in range(2):
        (repo / "late.txt").unlink(missing_ok=True)
        proc = run_cli(["run", "--no-cache"], cwd=repo)  # the writer must run every time
        assert GH_TOKEN in (repo / "late.txt").read_text()  # written while the run went on
        assert proc.returncode == 0, proc.stdout + proc.stderr
        gate = gate_json(load_json(repo / "reports" / "gates.json"), "no-secrets")
        counts.append(gate["details"]["files_scanned"])
    assert counts == [3, 3]  # a.txt, .gitignore, gates.yaml: never late.txt nor reports/
    assert (repo / "reports/.gitignore").is_file()


UNREADABLE_PROBE = """
import os, sys, threading
from pathlib import Path
from mergegate.config import load_config
from mergegate.gates import GateContext, forbid
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
root = Path(sys.argv[1])
loaded = load_config(root / "gates.yaml")
ctx = GateContext("no-secrets", loaded.gates["no-secrets"], loaded, LazyBase(root, None, None, {}),
                  dict(os.environ), root, 60.0, ProcessManager(), threading.Event())
outcome = forbid.run(ctx)
print(outcome.status.value)
print(outcome.reason)
"""


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    # root reads any file: as root the gate runs without capabilities, so modes apply to it
    repo = make_repo(tmp_path, {"a.txt": "fine\n", "b.txt": "fine\n"})
    (repo / "a.txt").chmod(0)
    argv = [sys.executable, "-c", UNREADABLE_PROBE, str(repo)]
    if os.geteuid() == 0:
        argv = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", *argv]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=repo)
    finally:
        (repo / "a.txt").chmod(0o644)
    status, reason = [*proc.stdout.splitlines(), "", ""][:2]
    assert status == "error", proc.stdout + proc.stderr
    assert reason.startswith("cannot read a.txt (Permission denied)"), reason
    assert "exclude" in reason


def test_cancel_is_an_error_not_a_pass(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"a.txt": "fine\n"})
    ctx = context(repo, procs, "no-secrets")
    ctx.cancel.set()
    outcome = forbid_gate.run(ctx)
    assert outcome.status is Status.ERROR
    assert "cancelled" in outcome.reason


def test_plan_lists_patterns_and_selection(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.txt": "x\n"}, POLICY_CONFIG)
    loaded = load_config(repo / "gates.yaml")
    gate = loaded.gates["oss-only"]
    assert isinstance(gate, ForbidGate)
    info = forbid_gate.plan(PlanContext("oss-only", gate, loaded, LazyBase(repo, None, None, {}),
                                        {}, repo))  # fmt: skip
    assert info.lines == [
        "patterns: jwt-auth, internal-host",
        "scan 1 file(s) matching **/*.py, **/*.yaml",
    ]
    assert not info.problems


def test_column_counts_characters_not_bytes() -> None:
    rules = forbid_gate.compile_rules(_gate(patterns={"p": "needle"}))
    found = list(forbid_gate.scan_text("ééé needle\r\n", 7, 0, rules))
    assert [(f.line, f.col) for f in found] == [(7, 5)]
    assert re.fullmatch(r"nee\*\*\*", found[0].preview)


def test_a_pattern_that_needs_a_newline_is_an_error_not_a_silent_never_match(
    tmp_path: Path, procs: ProcessManager
) -> None:
    """Lines are scanned one at a time, so `\\n` can never match: such a pattern would
    pass every file, whatever they hold."""
    config = """\
version: 1
gates:
  policy:
    kind: forbid
    paths: ["**/*.yaml"]
    patterns: {jwt: 'enable_jwt_auth:\\n\\s*true'}
"""
    repo = make_repo(tmp_path, {"deploy.yaml": "enable_jwt_auth:\n  true\n"}, config)
    outcome = run_gate(repo, procs, "policy")
    assert outcome.status is Status.ERROR, outcome.reason
    assert "pattern 'jwt' needs a newline" in outcome.reason
    for fine in (r"[^\n]*token", r"x\\n", "(?x) token \n = \\w+"):  # may match within a line
        assert forbid_gate._rule("ok", fine, builtin=False).name == "ok"
