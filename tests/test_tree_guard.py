"""Gates must not change the tree: real runs in real git repositories (DESIGN §3)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from mergegate import treeguard
from tests.helpers import commit_all, gate_json, git, init_repo, load_json, parse_junit, run_cli

FILES = {"src/app.py": "x = 1\n", "README.md": "hello\n"}


def project(tmp_path: Path, gates: str) -> Path:
    """A committed project whose gates.yaml holds ``gates`` (a YAML mapping body)."""
    body = "version: 1\ngates:\n" + textwrap.indent(textwrap.dedent(gates).strip(), "  ") + "\n"
    return init_repo(tmp_path / "repo", {**FILES, "gates.yaml": body})


def run(repo: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = run_cli(["run", *args], cwd=repo)
    return proc.returncode, load_json(repo / "reports/gates.json"), proc.stdout + proc.stderr


def guard_result(report: dict[str, Any]) -> dict[str, Any] | None:
    found = [g for g in report["gates"] if g["kind"] == treeguard.RESULT_KIND]
    assert len(found) <= 1
    return found[0] if found else None


def test_a_gate_that_rewrites_a_tracked_file_blocks_and_is_named(tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        """
        check: {run: "true"}
        lint: {run: "sleep 0.1 && sed -i 's/1/2/' src/app.py", needs: [check]}
        """,
    )
    # the pause only keeps the write clear of a coarse file clock at lint's start
    code, report, output = run(repo, "--jobs", "1")
    assert code == 1, output
    assert gate_json(report, "lint")["status"] == "passed"  # the gate itself thought so
    result = guard_result(report)
    assert result is not None
    assert (result["name"], result["status"], result["blocks"]) == ("tree-unchanged", "error", True)
    assert result["details"]["files"] == [
        {"path": "src/app.py", "change": "modified", "gates": ["lint"]}
    ]
    assert "src/app.py modified (while lint ran)" in result["reason"]
    assert "ruff check --no-fix" in result["output_tail"]
    assert result["annotations"][0]["path"] == "src/app.py"
    assert report["verdict"] == "blocked"
    case = parse_junit(repo / "reports/gates.xml").find(".//testcase[@name='tree-unchanged']")
    assert case is not None
    assert case.find("error") is not None
    assert "tree-unchanged" in output
    assert "reproduce: mergegate run\n" in output  # the whole run, not --only tree-unchanged
    assert "--only tree-unchanged" not in output


def test_a_dirty_tree_at_start_is_no_false_block(tmp_path: Path) -> None:
    repo = project(tmp_path, 'read: {run: "cat src/app.py > /dev/null && git diff --stat"}')
    (repo / "src/app.py").write_text("x = 'work in progress'\n")
    (repo / "README.md").unlink()
    git(repo, "add", "src/app.py")
    (repo / "src/app.py").write_text("x = 'more work'\n")  # staged and unstaged changes
    code, report, output = run(repo)
    assert code == 0, output
    assert guard_result(report) is None


def test_a_gate_that_changes_an_already_dirty_file_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'fmt: {run: "echo y = 2 >> src/app.py"}')
    (repo / "src/app.py").write_text("x = 'dirty before the run'\n")
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert [f["path"] for f in result["details"]["files"]] == ["src/app.py"]


def test_a_gate_that_stages_a_file_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'stage: {run: "git add README.md"}')
    (repo / "README.md").write_text("edited by the user\n")  # dirty, unstaged
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert result["details"]["files"][0]["path"] == "README.md"
    assert result["details"]["files"][0]["change"] == "staged (the index changed)"


def test_a_gate_that_adds_a_new_file_to_the_index_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'gen: {run: "echo generated > gen.py && git add gen.py"}')
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert result["details"]["files"] == [
        {"path": "gen.py", "change": "staged (the index changed)", "gates": ["gen"]}
    ]


def test_a_gate_that_deletes_or_restores_files_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'clean: {run: "rm src/app.py && git checkout -- README.md"}')
    (repo / "README.md").write_text("the user's unsaved work\n")
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    changes = {f["path"]: f["change"] for f in result["details"]["files"]}
    assert changes == {"README.md": "restored to HEAD", "src/app.py": "deleted"}


def test_a_gate_that_commits_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'commit: {run: "git commit -q --allow-empty -m sneaky"}')
    head = git(repo, "rev-parse", "HEAD")
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert f"HEAD moved from {head[:12]}" in result["reason"]
    assert report["commit"] == head  # the commit that was gated, not the one a gate made


def test_a_repository_without_a_commit_is_guarded_and_has_no_commit(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    git(tmp_path, "init", "-q", str(repo))
    (repo / "gates.yaml").write_text('version: 1\ngates:\n  w: {run: "echo 1 > gates.yaml"}\n')
    git(repo, "add", "gates.yaml")
    code, report, output = run(repo)
    assert code == 1, output
    assert report["commit"] is None
    result = guard_result(report)
    assert result is not None
    assert "gates.yaml" in result["reason"]


def test_untracked_files_written_by_gates_do_not_block(tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        """
        build: {run: "mkdir -p out .cache && echo x > out/a.txt && echo y > .cache/b"}
        """,
    )
    code, report, output = run(repo)
    assert code == 0, output
    assert guard_result(report) is None


def test_outside_a_git_repository_the_tree_is_not_checked(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "gates.yaml").write_text('version: 1\ngates:\n  w: {run: "echo 1 > f.txt"}\n')
    code, report, output = run(root)
    assert code == 0, output
    assert guard_result(report) is None
    assert report["commit"] is None
    plan = run_cli(["run", "--dry-run"], cwd=root)
    assert "tree: not a git repository" in plan.stdout
    repo = project(tmp_path, 'ok: {run: "true"}')
    assert (
        "tree: tracked files and the index are compared"
        in run_cli(["run", "--dry-run"], cwd=repo).stdout
    )


# -- the reports directory ---------------------------------------------------------------


def test_a_reports_directory_mergegate_creates_is_git_ignored(tmp_path: Path) -> None:
    repo = project(tmp_path, 'ok: {run: "true"}')
    code, _, output = run(repo)
    assert code == 0, output
    assert (repo / "reports/.gitignore").read_text().splitlines()[-1] == "*"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_existing_reports_directory_is_left_as_it_is(tmp_path: Path) -> None:
    repo = project(tmp_path, 'ok: {run: "true"}')
    (repo / "reports").mkdir()
    (repo / "reports/keep.md").write_text("tracked on purpose\n")
    commit_all(repo, "reports dir")
    code, _, output = run(repo)
    assert code == 0, output
    assert not (repo / "reports/.gitignore").exists()


def test_only_report_directories_are_ignored(tmp_path: Path) -> None:
    from mergegate.report.write import write_atomic, write_report

    write_report(tmp_path / "out/ci/gates.xml", "<x/>")
    assert (tmp_path / "out/.gitignore").read_text().splitlines()[-1] == "*"  # the topmost
    assert not (tmp_path / "out/ci/.gitignore").exists()
    write_atomic(tmp_path / "audit/verification.md.json", "[]")  # meant to be committed
    assert not (tmp_path / "audit/.gitignore").exists()


def test_parse_status_reads_renames_and_unmerged_entries() -> None:
    oid = "a" * 40
    data = (
        f"# branch.oid {oid}\0# branch.head main\0"
        f"1 .M N... 100644 100644 100644 {oid} {oid} dir/with space.txt\0"
        f"2 R. N... 100644 100644 100644 {oid} {oid} R100 new name\0old name\0"
        f"u UU N... 100644 100644 100644 100644 {oid} {oid} {oid} conflict.txt\0"
    ).encode()
    head, listed = treeguard.parse_status(data)
    assert head == oid
    assert sorted(listed) == ["conflict.txt", "dir/with space.txt", "new name"]


def test_a_tree_that_cannot_be_compared_blocks(tmp_path: Path) -> None:
    repo = project(tmp_path, 'vandal: {run: "rm -rf .git"}')
    code, report, output = run(repo)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert result["status"] == "error"
    assert result["reason"].startswith("the tree could not be compared after the run: ")


def test_a_repository_git_cannot_open_is_no_reason_to_skip_the_check(tmp_path: Path) -> None:
    """A worktree whose main repository moved away: `.git` is there, git says "not a git
    repository". That is a tree mergegate cannot compare (blocks), not a plain directory."""
    main = project(tmp_path, 'rewrite: {run: "echo x = 2 > src/app.py"}')
    worktree = tmp_path / "wt"
    git(main, "worktree", "add", "-q", str(worktree))
    main.rename(tmp_path / "moved")
    code, report, output = run(worktree)
    assert code == 1, output
    result = guard_result(report)
    assert result is not None
    assert result["status"] == "error"
    assert result["reason"].startswith("the tree could not be snapshot at run start: ")
