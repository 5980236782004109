"""kind: witness — the gate on real git repositories: trusted key from base, require_new_entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mergegate.gates import PlanContext
from mergegate.gates import witness as gate
from mergegate.git import LazyBase
from mergegate.results import Outcome, Status
from mergegate.witness.keys import SigningKey
from mergegate.witness.manifest import Layout
from mergegate.witness.sign import sign
from tests.helpers import commit_all, gate_json, git, init_repo, load_json, parse_junit, run_cli
from tests.witness_helpers import gate_context, new_key, write_tree

GATES = """\
version: 1
base: main
gates:
  witness:
    kind: witness
    public_key: keys/witness.pub
    require_new_entry: {require}
"""


def decide(root: Path, **kw: object) -> Outcome:
    with gate_context(root, **kw) as ctx:  # type: ignore[arg-type]
        return gate.run(ctx)


def sign_here(root: Path, key: SigningKey | None, message: str = "merge: #1 — build") -> None:
    sign(Layout(root), message, key, commit=None)


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return new_key(tmp_path / "trusted")


def make_repo(
    tmp_path: Path, key: SigningKey, *, require: bool = True, signed: bool = True
) -> Path:
    """main: gates.yaml, the trusted public key, dist/ and (optionally) a signed entry."""
    root = init_repo(
        tmp_path / "repo",
        {
            "gates.yaml": GATES.format(require=str(require).lower()),
            "keys/witness.pub": key.public.pem().decode(),
            "dist/app.js": "v1\n",
            "dist/lib/util.js": "u\n",
        },
    )
    if signed:
        sign_here(root, key)
        commit_all(root, "witness entry")
    git(root, "checkout", "-q", "-b", "feature")
    return root


# -- verification through the gate ------------------------------------------------------


def test_passes_when_the_files_match_a_new_signed_entry(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    (root / "dist/app.js").write_text("v2\n")
    sign_here(root, key, "merge: #2 — v2")
    commit_all(root, "v2")
    outcome = decide(root)
    assert outcome.status is Status.PASSED, outcome.reason
    assert "2 files under dist match entry #2 (merge: #2 — v2)" in outcome.reason
    base_sha = git(root, "rev-parse", "main")
    assert outcome.details["key_source"] == f"base main ({base_sha[:12]})"
    assert outcome.details["trusted_keyid"] == key.keyid
    assert outcome.details["new_entries"] == 1
    assert outcome.details["base"] == {"ref": "main", "sha": base_sha, "entries": 1}
    assert outcome.details["newest"]["message"] == "merge: #2 — v2"
    json.dumps(outcome.details)  # JSON-able, as the reports need


def test_fails_naming_each_changed_missing_and_extra_file(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key, require=False)
    (root / "dist/app.js").write_text("drift\n")
    (root / "dist/lib/util.js").unlink()
    (root / "dist/new.js").write_text("n\n")
    outcome = decide(root)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("1 changed, 1 missing, 1 extra: dist/app.js changed")
    assert outcome.details["problem_counts"] == {"changed": 1, "missing": 1, "extra": 1}
    assert outcome.details["problems"]["missing"][0]["path"] == "dist/lib/util.js"
    assert "changed (1):\n  dist/app.js: expected sha256" in outcome.output_tail
    assert {a.path for a in outcome.annotations} == {
        "dist/app.js",
        "dist/lib/util.js",
        "dist/new.js",
    }


def test_missing_or_malformed_manifest_is_an_error(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key, require=False, signed=False)
    outcome = decide(root)
    assert outcome.status is Status.ERROR
    assert "verification.md.json does not exist" in outcome.reason
    assert "mergegate witness sign" in outcome.reason
    (root / "verification.md.json").write_text('[{"payload": 1}]')
    outcome = decide(root)
    assert outcome.status is Status.ERROR
    assert "cannot be read" in outcome.reason


def test_an_unsigned_entry_fails_when_the_gate_has_a_key(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key, require=False)
    (root / "dist/app.js").write_text("v2\n")
    sign_here(root, None, "unsigned")
    outcome = decide(root)
    assert outcome.status is Status.FAILED
    assert "entry #2 (the newest) is unsigned" in outcome.reason


# -- the trusted key comes from base -----------------------------------------------------


def test_a_key_changed_in_the_change_is_not_trusted(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    attacker = new_key(tmp_path / "attacker")
    (root / "keys/witness.pub").write_bytes(attacker.public.pem())
    (root / "dist/app.js").write_text("backdoor\n")
    sign_here(root, attacker, "merge: #3 — totally fine")
    commit_all(root, "swap the key")

    outcome = decide(root)
    assert outcome.status is Status.FAILED
    assert f"signed by {attacker.keyid[:16]}, not by the trusted key {key.keyid[:16]}" in (
        outcome.reason
    )
    assert outcome.details["key_source"].startswith("base main (")
    assert outcome.details["trusted_keyid"] == key.keyid


def test_a_key_missing_at_base_is_an_error(tmp_path: Path, key: SigningKey) -> None:
    root = init_repo(tmp_path / "repo", {"dist/app.js": "v1\n"})
    git(root, "checkout", "-q", "-b", "feature")
    write_tree(
        root,
        {
            "gates.yaml": GATES.format(require="false"),
            "keys/witness.pub": key.public.pem().decode(),
        },
    )
    sign_here(root, key)
    commit_all(root, "introduce the witness gate and its key")
    outcome = decide(root)
    assert outcome.status is Status.ERROR
    assert "keys/witness.pub does not exist at base main" in outcome.reason


MASTER_GATES = """\
version: 1
gates:
  witness:
    kind: witness
    public_key: keys/witness.pub
"""


def master_repo(path: Path, key: SigningKey) -> Path:
    """A project on `master` (no main, no base: in gates.yaml) with a signed, trusted dist/."""
    root = init_repo(
        path,
        {
            "gates.yaml": MASTER_GATES,
            "keys/witness.pub": key.public.pem().decode(),
            "dist/app.js": "v1\n",
        },
        branch="master",
    )
    sign_here(root, key)
    commit_all(root, "witness entry")
    return root


def swap_key_and_sign(root: Path, attacker: SigningKey) -> None:
    """The attack: replace the trusted key with one's own, rewrite dist/, sign it."""
    (root / "keys/witness.pub").write_bytes(attacker.public.pem())
    (root / "dist/app.js").write_text("backdoor\n")
    sign_here(root, attacker, "merge: #7 — looks fine")
    commit_all(root, "swap the key")


@pytest.mark.parametrize("branch", ["feature", "master"])
def test_a_swapped_key_without_any_base_blocks(
    tmp_path: Path, key: SigningKey, branch: str
) -> None:
    root = master_repo(tmp_path / "repo", key)
    if branch != "master":
        git(root, "checkout", "-q", "-b", branch)
    swap_key_and_sign(root, new_key(tmp_path / "attacker"))

    proc = run_cli(["run"], cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = gate_json(load_json(root / "reports/gates.json"), "witness")
    assert result["status"] == "error"
    for hint in ("no base resolves", "--base", "`base:` in gates.yaml", "fetch-depth: 0"):
        assert hint in result["reason"]
    case = parse_junit(root / "reports/gates.xml").find(".//testcase[@name='witness']")
    assert case is not None
    assert case.find("error") is not None


def test_the_remotes_default_branch_is_the_base(tmp_path: Path, key: SigningKey) -> None:
    upstream = master_repo(tmp_path / "upstream", key)
    root = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(root))  # origin/HEAD -> origin/master
    git(root, "checkout", "-q", "-b", "feature")
    attacker = new_key(tmp_path / "attacker")
    swap_key_and_sign(root, attacker)

    outcome = decide(root)
    assert outcome.status is Status.FAILED, outcome.reason
    assert f"not by the trusted key {key.keyid[:16]}" in outcome.reason
    assert outcome.details["key_source"].startswith("base origin/master (")

    git(root, "reset", "-q", "--hard", "origin/master")  # an honest change now passes
    (root / "dist/app.js").write_text("v2\n")
    sign_here(root, key, "merge: #8 — v2")
    commit_all(root, "v2")
    assert decide(root).status is Status.PASSED


def test_a_requested_base_that_does_not_resolve_is_an_error(
    tmp_path: Path, key: SigningKey
) -> None:
    root = make_repo(tmp_path, key, require=False)
    outcome = decide(root, cli_base="origin/nope")
    assert outcome.status is Status.ERROR
    assert "base ref origin/nope (from --base) does not resolve" in outcome.reason
    assert "fetch-depth: 0" in outcome.reason


# -- require_new_entry across a real base branch ------------------------------------------


def test_require_new_entry_fails_when_no_entry_was_added(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    (root / "README.md").write_text("docs only\n")
    commit_all(root, "docs")
    outcome = decide(root)
    assert outcome.status is Status.FAILED
    assert "no manifest entry was added since main" in outcome.reason
    assert outcome.details["new_entries"] == 0


def test_require_new_entry_refuses_rewritten_history(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    (root / "verification.md.json").unlink()
    (root / "dist/app.js").write_text("v2\n")
    sign_here(root, key, "a fresh chain that drops the old entry")
    sign_here(root, key, "and another")
    commit_all(root, "rewrite")
    outcome = decide(root)
    assert outcome.status is Status.FAILED
    assert "rewrites the history it had at main: entry #1 differs" in outcome.reason
    assert outcome.details["problem_counts"] == {"new-entry": 1}


def test_require_new_entry_when_base_had_no_manifest(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key, signed=False)
    sign_here(root, key)
    commit_all(root, "first entry")
    outcome = decide(root)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.details["new_entries"] == 1


def test_require_new_entry_needs_a_base(tmp_path: Path, key: SigningKey) -> None:
    root = init_repo(
        tmp_path / "repo",
        {
            "gates.yaml": (
                "version: 1\ngates:\n  witness: {kind: witness, require_new_entry: true}\n"
            ),
            "dist/app.js": "v1\n",
        },
        branch="trunk",
    )
    sign_here(root, None)
    outcome = decide(root)
    assert outcome.status is Status.ERROR
    assert "no base ref: origin/HEAD is not set and neither origin/main nor main exists" in (
        outcome.reason
    )
    assert "--base" in outcome.reason


# -- deadline and cancellation ------------------------------------------------------------


def test_a_spent_deadline_is_a_timeout_and_cancel_an_error(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key, require=False)
    outcome = decide(root, timeout=1e-9)
    assert outcome.status is Status.TIMEOUT
    assert "timed out" in outcome.reason
    with gate_context(root) as ctx:
        ctx.cancel.set()
        outcome = gate.run(ctx)
    assert outcome.status is Status.ERROR
    assert "cancelled" in outcome.reason


# -- dry run --------------------------------------------------------------------------------


def _plan(root: Path) -> tuple[list[str], list[str]]:
    from mergegate.config import load_config
    from mergegate.gates.witness import WitnessSpec as WitnessGate

    loaded = load_config(root / "gates.yaml")
    witness = loaded.gates["witness"]
    assert isinstance(witness, WitnessGate)
    ctx = PlanContext("witness", witness, loaded, LazyBase(root, None, None, {}), {}, root)
    info = gate.plan(ctx)
    return list(info.lines), list(info.problems)


def test_plan_shows_the_newest_entry_and_what_would_block(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    lines, problems = _plan(root)
    assert problems == []
    assert any(
        line.startswith("manifest: verification.md.json, 1 entries; newest #1: ")
        and "'merge: #1 — build' (2 files)" in line
        for line in lines
    )
    assert "paths: dist/**" in lines
    (root / "verification.md.json").unlink()
    (root / "keys/witness.pub").unlink()  # the working tree's copy is never the one trusted
    lines, problems = _plan(root)
    assert problems == ["manifest verification.md.json does not exist (run " + gate.SIGN_HINT + ")"]
    git(root, "branch", "-q", "-m", "main", "trunk")  # now no base resolves
    _, problems = _plan(root)
    assert problems[1].startswith("public_key needs the base ref: no base ref")
    assert problems[2].startswith("require_new_entry needs the base ref: no base ref")


# -- end to end through `mergegate run` -------------------------------------------------------


def test_mergegate_run_blocks_on_drift_and_reports_it(tmp_path: Path, key: SigningKey) -> None:
    root = make_repo(tmp_path, key)
    (root / "dist/app.js").write_text("v2\n")
    sign_here(root, key, "merge: #2 — v2")
    commit_all(root, "v2")

    ok = run_cli(["run"], cwd=root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert gate_json(load_json(root / "reports/gates.json"), "witness")["status"] == "passed"

    (root / "dist/app.js").write_text("drift after signing\n")
    blocked = run_cli(["run"], cwd=root)
    assert blocked.returncode == 1
    result = gate_json(load_json(root / "reports/gates.json"), "witness")
    assert result["status"] == "failed"
    assert result["details"]["problems"]["changed"][0]["path"] == "dist/app.js"
    case = parse_junit(root / "reports/gates.xml").find(".//testcase[@name='witness']")
    assert case is not None
    assert case.get("classname") == "gates.witness"
    assert case.find("failure") is not None


def test_a_base_manifest_that_cannot_be_read_is_an_error_not_no_history(
    tmp_path: Path, key: SigningKey
) -> None:
    """A blobless clone whose promisor is gone: the base's manifest exists but cannot be read.

    Taking that for "no manifest at base" made any entry count as new, so a change that
    rewrote the history passed require_new_entry.
    """
    upstream = make_repo(tmp_path, key)
    (upstream / "verification.md.json").unlink()
    (upstream / "dist/app.js").write_text("v2\n")
    sign_here(upstream, key, "a fresh chain that drops the old entry")
    commit_all(upstream, "rewrite")
    git(upstream, "config", "uploadpack.allowFilter", "true")
    root = tmp_path / "clone"
    url = upstream.as_uri()
    git(tmp_path, "clone", "-q", "--filter=blob:none", "--branch", "feature", url, str(root))
    upstream.rename(tmp_path / "upstream-gone")  # the lazy fetch of the base's blob fails

    outcome = decide(root, cli_base="origin/main")
    assert outcome.status is Status.ERROR, outcome.reason
    assert "verification.md.json" in outcome.reason


def test_a_key_rotated_on_the_base_after_the_change_forked_is_the_one_that_judges(
    tmp_path: Path, key: SigningKey
) -> None:
    """main revokes a leaked key; a change forked before that and signed with the leaked key
    must not pass: the trusted key is the base branch's now, not the fork point's."""
    root = make_repo(tmp_path, key, require=False)  # on feature, forked from main
    git(root, "checkout", "-q", "main")
    rotated = new_key(tmp_path / "rotated")
    (root / "keys/witness.pub").write_bytes(rotated.public.pem())
    commit_all(root, "rotate the witness key: the old one leaked")
    git(root, "checkout", "-q", "feature")
    (root / "dist/app.js").write_text("backdoor\n")
    sign_here(root, key, "merge: #9 — signed with the leaked key")
    commit_all(root, "v2")

    outcome = decide(root)
    assert outcome.status is Status.FAILED, outcome.reason
    assert f"not by the trusted key {rotated.keyid[:16]}" in outcome.reason
    tip = git(root, "rev-parse", "main")
    assert outcome.details["key_source"] == f"base main ({tip[:12]})"
