"""Run a workflow's jobs the way the GitHub runner would, as far as a test can.

Every `run:` step is executed for real with bash (`bash --noprofile --norc -eo
pipefail FILE`, as a `shell: bash` step), in the job's workspace, with `${{ }}`
expressions substituted from the matrix, `needs` results and a fake `github`
context; workflow/job/step `env:` is applied in that order. The marketplace
actions are stood in for by small local equivalents over directories in the
runner's temp dir (artifacts and caches); checkout and setup-python are no-ops,
because the workspace is already a checkout and the test's interpreter has
mergegate. Steps a test names in `replaced` are skipped and reported as such
(the pip install of mergegate: no network in tests). An expression or action the
harness does not know fails the test: nothing is silently assumed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from tests.helpers import GIT_IDENTITY

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_EQUALS = re.compile(r"^([\w.-]+)\s*==\s*'([^']*)'$")


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped | replaced
    stdout: str = ""
    stderr: str = ""


@dataclass
class JobResult:
    steps: list[StepResult]

    @property
    def result(self) -> str:
        failed = any(s.outcome == "failure" for s in self.steps)
        return "failure" if failed else "success"

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


@dataclass
class Workflow:
    """One workflow file, its shared runner directories, and a fake `github` context."""

    spec: dict[str, Any]
    temp: Path  # this run's RUNNER_TEMP and artifacts
    caches: Path  # the repository's cache store, shared between runs
    event_name: str = "pull_request"
    run_id: str = "4242"
    extra_env: dict[str, str] = field(default_factory=dict)
    replaced: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.artifacts = self.temp / "artifacts"
        for directory in (self.artifacts, self.caches):
            directory.mkdir(parents=True, exist_ok=True)

    def matrix(self, job: str) -> list[dict[str, Any]]:
        values = self.spec["jobs"][job].get("strategy", {}).get("matrix", {})
        if not values:
            return [{}]
        ((key, items),) = values.items()  # one axis is all the harness needs
        return [{key: item} for item in items]

    def run_job(
        self,
        job: str,
        workspace: Path,
        matrix: Mapping[str, Any] | None = None,
        needs: Mapping[str, str] | None = None,
    ) -> JobResult:
        context = JobContext(self, job, workspace, dict(matrix or {}), dict(needs or {}))
        return context.run()


@dataclass
class JobContext:
    workflow: Workflow
    job: str
    workspace: Path
    matrix: dict[str, Any]
    needs: dict[str, str]

    @property
    def spec(self) -> dict[str, Any]:
        job: dict[str, Any] = self.workflow.spec["jobs"][self.job]
        return job

    # -- expressions -------------------------------------------------------------------

    def value(self, expression: str) -> str:
        head, _, rest = expression.partition(".")
        if head == "matrix":
            return str(self.matrix[rest])
        if expression == "github.run_id":
            return self.workflow.run_id
        if expression == "github.event_name":
            return self.workflow.event_name
        if head == "needs" and rest.endswith(".result"):
            return self.needs[rest.removesuffix(".result")]
        raise AssertionError(f"the harness cannot evaluate ${{{{ {expression} }}}}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str | None, failed: bool) -> bool:
        """A step's `if:`: status functions, `==` against a quoted string, joined by &&."""
        if expression is None:
            return not failed
        return all(self._term(t.strip(), failed) for t in expression.split("&&"))

    def _term(self, term: str, failed: bool) -> bool:
        status: dict[str, bool] = {"always()": True, "success()": not failed, "failure()": failed}
        if term in status:
            return status[term]
        match = _EQUALS.match(term)
        if match is None:
            raise AssertionError(f"the harness cannot evaluate `if: {term}`")
        return self.value(match.group(1)) == match.group(2)

    # -- steps ---------------------------------------------------------------------------

    def env(self, step: Mapping[str, Any]) -> dict[str, str]:
        env = {**os.environ, **GIT_IDENTITY, **self.workflow.extra_env}
        env.update(
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_EVENT_NAME=self.workflow.event_name,
            GITHUB_RUN_ID=self.workflow.run_id,
            GITHUB_REPOSITORY="acme/app",
            GITHUB_STEP_SUMMARY=str(self.workflow.temp / f"summary-{self.job}.md"),
            RUNNER_TEMP=str(self.workflow.temp),
        )
        for scope in (self.workflow.spec, self.spec, step):
            env.update({k: self.substitute(str(v)) for k, v in scope.get("env", {}).items()})
        return env

    def run(self) -> JobResult:
        results: list[StepResult] = []
        for step in self.spec["steps"]:
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            failed = any(r.outcome == "failure" for r in results)
            if not self.condition(step.get("if"), failed):
                results.append(StepResult(name, "skipped"))
            elif name in self.workflow.replaced:
                results.append(StepResult(name, "replaced"))
            elif "run" in step:
                results.append(self._run_step(name, step))
            else:
                results.append(self._action(name, step))
        return JobResult(results)

    def _run_step(self, name: str, step: Mapping[str, Any]) -> StepResult:
        script = self.workflow.temp / f"step-{self.job}-{os.getpid()}.sh"
        script.write_text(self.substitute(step["run"]))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=self.env(step),
            capture_output=True,
            text=True,
            timeout=240,  # bounds a hang only
            check=False,
            stdin=subprocess.DEVNULL,
        )
        outcome = "success" if proc.returncode == 0 else "failure"
        return StepResult(name, outcome, proc.stdout, proc.stderr)

    def _action(self, name: str, step: Mapping[str, Any]) -> StepResult:
        action = step["uses"].split("@")[0]
        handler = ACTIONS.get(action)
        if handler is None:
            raise AssertionError(f"the harness has no stand-in for {step['uses']}")
        inputs = {k: self.substitute(str(v)) for k, v in step.get("with", {}).items()}
        ok = handler(self, inputs)
        return StepResult(name, "success" if ok else "failure")


# -- stand-ins for the marketplace actions --------------------------------------------


def _noop(job: JobContext, inputs: Mapping[str, str]) -> bool:
    return True


def _upload(job: JobContext, inputs: Mapping[str, str]) -> bool:
    files = [p for p in (job.workspace / inputs["path"],) if p.exists()]
    if not files:
        return inputs.get("if-no-files-found", "warn") != "error"
    target = job.workflow.artifacts / inputs["name"]
    if target.exists():
        return False  # artifact names are unique per workflow run (upload-artifact v4)
    for path in files:
        if path.is_dir():
            shutil.copytree(path, target)
        else:
            target.mkdir(parents=True)
            shutil.copy2(path, target / path.name)
    return True


def _download(job: JobContext, inputs: Mapping[str, str]) -> bool:
    dest = job.workspace / inputs.get("path", ".")
    dest.mkdir(parents=True, exist_ok=True)
    merge = inputs.get("merge-multiple", "").lower() == "true"  # YAML true reads as True
    for artifact in sorted(job.workflow.artifacts.iterdir()):
        if fnmatch(artifact.name, inputs.get("pattern", "*")):
            shutil.copytree(artifact, dest if merge else dest / artifact.name, dirs_exist_ok=True)
    return True


def _cache_restore(job: JobContext, inputs: Mapping[str, str]) -> bool:
    """Exact key first, else the newest entry whose key starts with a restore-key."""
    entries = sorted(job.workflow.caches.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    wanted = [inputs["key"], *inputs.get("restore-keys", "").split()]
    for prefix in wanted:
        hits = [e for e in entries if e.name == prefix or e.name.startswith(prefix)]
        if hits:
            shutil.copy2(hits[-1] / "content", job.workspace / inputs["path"])
            return True
    return True  # a miss is not a failure


def _cache_save(job: JobContext, inputs: Mapping[str, str]) -> bool:
    entry = job.workflow.caches / inputs["key"]
    if entry.exists():
        return False  # cache entries are immutable
    entry.mkdir()
    shutil.copy2(job.workspace / inputs["path"], entry / "content")
    return True


ACTIONS: dict[str, Callable[[JobContext, Mapping[str, str]], bool]] = {
    "actions/checkout": _noop,
    "actions/setup-python": _noop,
    "actions/upload-artifact": _upload,
    "actions/download-artifact": _download,
    "actions/cache/restore": _cache_restore,
    "actions/cache/save": _cache_save,
}
