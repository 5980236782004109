"""mergegate.git on real repositories: base resolution order, laziness, timeouts, one owner."""

from __future__ import annotations

import os
import re
import stat
import textwrap
from pathlib import Path

import pytest

from mergegate import git as mgit
from mergegate.errors import GitError
from mergegate.proctree import OWN_PIDS
from tests.helpers import commit_all, git, init_repo, load_json, run_cli, write_config

SRC = Path(mgit.__file__).parent


def clone_with_feature(tmp_path: Path, branch: str = "master") -> Path:
    """A clone of a repository whose default branch is ``branch``, on a feature branch."""
    upstream = init_repo(tmp_path / "upstream", {"a.txt": "1\n"}, branch=branch)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    (clone / "a.txt").write_text("2\n")
    commit_all(clone, "change")
    return clone


def fork_point(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD~1")


# -- resolution order (DESIGN §4) ----------------------------------------------------------


def test_the_remotes_default_branch_master_resolves(tmp_path: Path) -> None:
    repo = clone_with_feature(tmp_path)
    base = mgit.resolve_base(repo, None, None, {})
    assert (base.ref, base.sha, base.source) == ("origin/master", fork_point(repo), "default")


def test_origin_head_comes_before_main(tmp_path: Path) -> None:
    repo = clone_with_feature(tmp_path, branch="develop")
    git(repo, "branch", "-q", "main", "HEAD")  # a stale local main must not win
    assert mgit.resolve_base(repo, None, None, {}).ref == "origin/develop"


def test_without_origin_head_origin_main_then_main(tmp_path: Path) -> None:
    repo = clone_with_feature(tmp_path, branch="main")
    git(repo, "remote", "set-head", "origin", "--delete")
    assert mgit.resolve_base(repo, None, None, {}).ref == "origin/main"
    git(repo, "branch", "-q", "-r", "-d", "origin/main")  # the clone's local main is left
    assert mgit.resolve_base(repo, None, None, {}).ref == "main"


def test_named_bases_win_in_order(tmp_path: Path) -> None:
    repo = clone_with_feature(tmp_path)
    git(repo, "branch", "-q", "other", "HEAD")
    env = {"GITHUB_BASE_REF": "master"}
    assert mgit.resolve_base(repo, "other", "master", env).source == "--base"
    from_env = mgit.resolve_base(repo, None, "other", env)
    assert (from_env.ref, from_env.source) == ("origin/master", "GITHUB_BASE_REF")
    from_yaml = mgit.resolve_base(repo, None, "other", {})
    assert (from_yaml.ref, from_yaml.source) == ("other", "gates.yaml base")


def test_no_base_is_an_error_that_says_how_to_name_one(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", branch="master")
    with pytest.raises(GitError) as caught:
        mgit.resolve_base(repo, None, None, {})
    message = str(caught.value)
    assert message.startswith("no base ref: origin/HEAD is not set")
    for hint in ("--base REF", "`base:` in gates.yaml", "fetch-depth: 0"):
        assert hint in message


def test_a_named_base_that_does_not_resolve_names_its_fetch(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    with pytest.raises(GitError, match=r"origin/release \(from --base\) does not resolve") as c:
        mgit.resolve_base(repo, "origin/release", None, {})
    assert "`git fetch origin release`" in str(c.value)


# -- laziness: a run resolves the base only when a gate needs it --------------------------


def logging_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """PATH with a `git` that logs every call, then runs the real git."""
    real = next(
        Path(d) / "git"
        for d in os.environ["PATH"].split(os.pathsep)
        if (Path(d) / "git").is_file() and Path(d) != tmp_path / "bin"
    )
    log = tmp_path / "git-calls.log"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}, log


def test_a_run_without_base_gates_never_asks_git_for_the_base(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "x\n"})
    write_config(repo, "version: 1\ngates:\n  hello: {run: 'true'}\n")
    env, log = logging_git(tmp_path)
    proc = run_cli(["run"], cwd=repo, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text()
    assert "merge-base" not in calls
    assert "origin/main" not in calls
    assert "symbolic-ref" not in calls
    assert load_json(repo / "reports/gates.json")["base"] is None


def test_a_run_with_if_changed_resolves_the_base_and_reports_it(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "x\n"})
    write_config(
        repo,
        """
        version: 1
        gates:
          docs: {run: 'true', if_changed: ["docs/**"]}
        """,
    )
    git(repo, "checkout", "-q", "-b", "feature")
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = load_json(repo / "reports/gates.json")
    assert (report["base"], report["base_sha"]) == ("main", git(repo, "rev-parse", "main"))


# -- every git call has a timeout, and only git.py makes one ------------------------------


def test_a_hung_git_is_stopped_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "git.pid"
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        sleep 300 &
        echo $! > {pidfile}
        wait
        """)
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(mgit, "GIT_TIMEOUT", 1.0)
    with pytest.raises(GitError, match=r"`git status` did not finish within 1s and was stopped"):
        mgit.git_bytes(tmp_path, "status")
    grandchild = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):  # the whole group was killed, not just git
        _wait_gone(grandchild)


def _wait_gone(pid: int) -> None:
    """Signal 0 until the process is gone (reaped by init); bounded only against a hang."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        os.kill(pid, 0)
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1]
        except FileNotFoundError:
            raise ProcessLookupError(pid) from None  # reaped between the two calls
        if state.startswith("Z"):
            raise ProcessLookupError(pid)  # a zombie awaiting its reaper: dead
        time.sleep(0.05)


def test_git_is_run_only_by_git_py() -> None:
    spawning = re.compile(r"subprocess|os\.(?:spawn|exec|posix_spawn|system|popen)")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("git.py", "proc.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if spawning.search(text) and re.search(r"[\"']git[\"']", text):
            offenders.append(rel)
    assert offenders == []


def test_every_gate_that_needs_a_base_errors_without_one(tmp_path: Path) -> None:
    repo = init_repo(
        tmp_path / "repo",
        {"pyproject.toml": '[project]\nname = "demo"\nversion = "1.0.0"\n'},
        branch="master",
    )
    write_config(
        repo,
        """
        version: 1
        gates:
          semver: {kind: semver, version: pyproject.toml, api: {paths: ["api/**"]}}
          docs: {run: "true", if_changed: ["docs/**"]}
          witness: {kind: witness, require_new_entry: true}
          plain: {run: "true"}
        """,
    )
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = load_json(repo / "reports/gates.json")
    statuses = {g["name"]: g["status"] for g in report["gates"]}
    assert statuses == {"semver": "error", "docs": "error", "witness": "error", "plain": "passed"}
    for gate in report["gates"][:3]:
        assert "no base ref" in gate["reason"]
        assert "--base REF" in gate["reason"]
    assert report["base"] is None


# -- files at a ref ----------------------------------------------------------------------


def test_show_file_tells_absent_from_unreadable(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"sub/a.txt": "base text\n", "b.txt": "b\n"})
    base = git(repo, "rev-parse", "HEAD")
    assert mgit.show_file(repo, base, "sub/a.txt") == b"base text\n"
    assert mgit.show_file(repo / "sub", base, "a.txt") == b"base text\n"  # relative to root
    assert mgit.show_file(repo, base, "missing.txt") is None
    blob = git(repo, "rev-parse", f"{base}:sub/a.txt")
    (repo / ".git/objects" / blob[:2] / blob[2:]).unlink()  # the tree names it; no content
    with pytest.raises(GitError, match=r"sub/a\.txt exists at \w+ but cannot be read"):
        mgit.show_file(repo, base, "sub/a.txt")
    with pytest.raises(GitError, match="does not resolve"):
        mgit.show_file(repo, "origin/nope", "b.txt")


def test_object_type_tells_absent_from_unreadable(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"pkg/mod.py": "x = 1\n", "b.txt": "b\n"})
    base = git(repo, "rev-parse", "HEAD")
    assert mgit.object_type(repo, base, "pkg") == "tree"
    assert mgit.object_type(repo, base, "pkg/") == "tree"
    assert mgit.object_type(repo, base, "b.txt") == "blob"
    assert mgit.object_type(repo, base, "nothing") is None
    tree = git(repo, "rev-parse", f"{base}:pkg")
    (repo / ".git/objects" / tree[:2] / tree[2:]).unlink()  # the root tree names it
    with pytest.raises(GitError, match=r"pkg exists at \w+ but cannot be read"):
        mgit.object_type(repo, base, "pkg")


def test_a_git_call_is_no_leftover_of_another_gates_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a command ends, the process manager stops what it left behind. A git call that
    another gate's thread has running then (its own session, so a timeout kills its
    group) is not a leftover: killed, it made that gate an error ("exit -15")."""
    import shutil
    import threading

    from mergegate.proc import ProcessManager

    repo = init_repo(tmp_path / "repo")
    real_git, started, release = shutil.which("git"), tmp_path / "started", tmp_path / "release"
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(
        f"#!/bin/sh\ntouch '{started}'\n"  # alive until the command below has ended
        f"for i in $(seq 600); do [ -e '{release}' ] && break; sleep 0.1; done\n"
        f"exec '{real_git}' \"$@\"\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(mgit.rev_parse(repo, "HEAD"))
        except GitError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    for _ in range(600):
        if started.exists():
            break
        threading.Event().wait(0.1)
    procs = ProcessManager()
    try:
        assert procs.run(["true"], cwd=repo, env=dict(os.environ), timeout=60).returncode == 0
    finally:
        procs.close()
        release.touch()
        thread.join(120)
    assert outcome == [git(repo, "rev-parse", "HEAD")]


# -- a git started early (mergegate run starts its status while it loads) ------------------


def test_a_started_git_answers_as_git_bytes_would(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "1\n"})
    started = mgit.Started(repo, *mgit.STATUS_ARGS)
    assert started.bytes() == mgit.git_bytes(repo, *mgit.STATUS_ARGS)
    assert started.bytes() == started.bytes()  # collected once, kept
    assert mgit.Started(repo, "rev-parse", "HEAD").text() == git(repo, "rev-parse", "HEAD")


def test_a_started_git_that_fails_raises_when_collected(tmp_path: Path) -> None:
    started = mgit.Started(tmp_path, "rev-parse", "--show-prefix")  # not a repository
    with pytest.raises(GitError, match=r"rev-parse --show-prefix` failed: .*not a git repository"):
        started.bytes()
    assert mgit.Started(tmp_path, "rev-parse", "HEAD").bytes(ok_codes=(0, 128)) == b""


def test_closing_an_uncollected_git_stops_it_and_fails_closed(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"a.txt": "1\n"})
    started = mgit.Started(repo, "cat-file", "--batch")  # waits on stdin: /dev/null ends it
    pid = started._proc.pid if started._proc else 0
    started.close()
    with pytest.raises(GitError, match="not waited for"):
        started.bytes()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not left as a zombie
    assert pid not in OWN_PIDS


def test_a_started_git_without_git_on_path_is_a_git_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    started = mgit.Started(tmp_path, "status")
    with pytest.raises(GitError, match="not installed"):
        started.bytes()
    started.close()  # nothing to stop


def test_git_is_found_on_path_as_popen_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searched once per PATH, not per call: what is not an executable file is passed over,
    and the first executable `git` wins."""
    unrunnable, folder, fake = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for entry in (unrunnable, folder, fake):
        entry.mkdir()
    (unrunnable / "git").write_text("#!/bin/sh\necho not me\n")  # not executable
    (folder / "git").mkdir()
    (fake / "git").write_text('#!/bin/sh\necho fake git "$@"\n')
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(unrunnable), str(folder), str(fake)]))
    assert mgit.git_text(tmp_path, "status") == f"fake git -C {tmp_path} status"
    (fake / "git").write_text("#!/bin/sh\necho changed\n")  # the same file: still found
    assert mgit.git_text(tmp_path, "status") == "changed"
    monkeypatch.setenv("PATH", str(tmp_path))  # another PATH is searched again
    with pytest.raises(GitError, match="not installed"):
        mgit.git_text(tmp_path, "status")
    monkeypatch.setenv("PATH", str(unrunnable))  # only a `git` that cannot run: no crash
    with pytest.raises(GitError, match="git could not be started: Permission denied"):
        mgit.git_text(tmp_path, "status")


def test_a_known_head_resolves_the_same_base(tmp_path: Path) -> None:
    repo = clone_with_feature(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    assert mgit.resolve_base(repo, None, None, {}, head=head) == mgit.resolve_base(
        repo, None, None, {}
    )
    lazy = mgit.LazyBase(repo, None, None, {})
    lazy.head = head
    assert lazy.get().sha == fork_point(repo)
