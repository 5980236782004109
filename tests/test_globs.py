"""mergegate.globs: a directory named plainly (`src`, `src/`) means everything below it."""

from __future__ import annotations

from pathlib import Path

from mergegate.globs import could_match_below, match
from tests.helpers import commit_all, gate_json, git, init_repo, load_json, run_cli, write_config


def test_a_directory_pattern_matches_everything_below_it() -> None:
    for pattern in ("src", "src/", "./src/", "src/**"):
        assert match(pattern, "src/app.py"), pattern
        assert match(pattern, "src/deep/er/x.py"), pattern
        assert not match(pattern, "srcs/app.py"), pattern
        assert not match(pattern, "lib/src/app.py"), pattern  # still anchored at the root
        assert could_match_below(pattern, "src/deep"), pattern
        assert not could_match_below(pattern, "lib"), pattern
    assert match("src", "src")  # a file named plainly
    assert match("a/b.txt", "a/b.txt")
    assert not match("src/", "src")  # a trailing slash means a directory's contents
    assert not match("src/*.py", "src/deep/x.py")  # a pattern with a glob keeps its meaning


def test_if_changed_naming_a_directory_runs_the_gate_when_a_file_in_it_changed(
    tmp_path: Path,
) -> None:
    repo = init_repo(tmp_path / "repo", {"src/app.py": "x = 1\n", "docs/a.md": "a\n"})
    write_config(
        repo,
        """
        version: 1
        base: main
        gates:
          plain: {run: "exit 1", if_changed: ["src"]}
          slash: {run: "exit 1", if_changed: "src/"}
          docs: {run: "exit 1", if_changed: "docs/"}
        """,
    )
    commit_all(repo, "gates")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "src/app.py").write_text("x = 2\n")
    commit_all(repo, "change src")
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # not "merge allowed (3 skipped)"
    report = load_json(repo / "reports/gates.json")
    assert gate_json(report, "plain")["status"] == "failed"
    assert gate_json(report, "slash")["status"] == "failed"
    assert gate_json(report, "docs")["status"] == "skipped"


def test_a_caret_negated_class_never_matches_a_slash() -> None:
    assert match("a[^b]c", "axc")
    assert not match("a[^b]c", "abc")
    assert not match("a[^b]c", "a/c")  # `exclude: a[^b]c` must not drop a/c
