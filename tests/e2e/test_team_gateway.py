"""The Team Gateway Checklist, end to end, on examples/team-gateway.

The example is copied into a real repository (base on `main`), its pinned npm
tools installed for real with `npm ci` (once for the module), and a `feature`
branch made the way the checklist wants a change: source edited, `dist/`
rebuilt, the version bumped, a witness entry signed. On that branch every gate
passes, all run together.

Then one break per gate (a lint error, a type error, deleted tests, a failing
smoke script, a tampered dist file, an API change without a bump, a raw key in
a config file, `enable_jwt_auth: true` in the deploy YAML). "Exactly that gate
blocks" is shown in two halves, each run with `--only` to stay fast: on a
branch with one break, its gate fails with a reason that says what is wrong;
on a branch with every break but a gate's own, that gate still passes. So no
break trips another gate — a stronger claim than one full run per break, at a
quarter of the time.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    Break,
    append,
    assert_all_passed,
    assert_blocks_alone,
    assert_passes_alone,
    branch_from,
    copy_example,
    edit,
    everything_written,
    make_branch,
    reason_and_tail,
    run_gates,
    run_tool,
)
from tests.helpers import commit_all, git, run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("npm") is None or shutil.which("node") is None,
        reason="node and npm are not on PATH: the team-gateway example installs eslint and "
        "typescript with npm ci",
    ),
]

GATES = ("lint", "type-check", "unit-tests", "smoke", "witness", "semver", "no-secrets", "oss-only")
MIN_PASSED = 40  # the example's scaled floor (gates.yaml)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example on `main`, node_modules installed, and the `feature` branch on top."""
    root = copy_example("team-gateway", tmp_path_factory.mktemp("e2e") / "team-gateway")
    # the default npm cache (~/.npm, or $npm_config_cache) is shared by every run
    run_tool(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=root)
    git(root, "checkout", "-q", "-b", "feature")
    _feature_change(root)
    return root


def _feature_change(root: Path) -> None:
    """A new exported function with its test; dist rebuilt, minor bump, witness entry signed."""
    append(
        root / "src/router.ts",
        "\n/** One line per route, longest prefix first: `prefix -> upstream (provider)`. */\n"
        "export function describeRoutes(router: Router): string[] {\n"
        "  return router.routes.map((r) => `${r.prefix} -> ${r.upstream} (${r.provider})`);\n"
        "}\n",
    )
    edit(root / "src/index.ts", "export { createRouter,", "export { createRouter, describeRoutes,")
    edit(
        root / "test/router.test.mjs",
        "import { createRouter, RouteError }",
        "import { createRouter, describeRoutes, RouteError }",
    )
    append(
        root / "test/router.test.mjs",
        '\ndescribe("describeRoutes", () => {\n'
        '  it("lists the routes longest prefix first", () => {\n'
        "    const lines = describeRoutes(createRouter(routes));\n"
        "    assert.equal(lines[0],\n"
        '      "/v1/anthropic/beta -> https://beta.anthropic.example (anthropic)");\n'
        "  });\n"
        "});\n",
    )
    run_tool(["npm", "run", "build"], cwd=root)
    run_tool(["npm", "version", "minor", "--no-git-tag-version"], cwd=root)
    signed = run_cli(
        ["witness", "sign", "-m", "merge: #42 — describeRoutes", "--key", "keys/witness.key"],
        cwd=root,
    )
    assert signed.returncode == 0, signed.stderr
    commit_all(root, "describeRoutes: list the configured routes")


def test_every_gate_passes_on_a_well_made_change(repo: Path) -> None:
    branch_from(repo, "all-pass")
    plan = run_cli(["run", "--dry-run"], cwd=repo)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "scripts/smoke-routing.mjs" in plan.stdout

    run = run_gates(repo)

    assert_all_passed(run, GATES)
    assert run.gate("unit-tests")["details"]["passed"] == MIN_PASSED + 1
    assert "1.4.0" in run.gate("semver")["reason"]
    assert "1.5.0" in run.gate("semver")["reason"]


# -- one break per gate -----------------------------------------------------------


def fake_anthropic_key() -> str:
    """Shaped like a real Anthropic key; assembled here so no file in this repo holds one."""
    return "-".join(["sk", "ant", "api03", "Zq7Xw2Lm" * 12])


def _lint_error(root: Path) -> None:
    edit(
        root / "src/router.ts",
        "function matches(prefix: string, path: string): boolean {\n",
        "function matches(prefix: string, path: string): boolean {\n"
        "  const leftover = prefix.trim();\n",
    )


def _type_error(root: Path) -> None:
    append(root / "src/router.ts", '\nexport const maxRetries: number = "three";\n')


def _delete_tests(root: Path) -> None:
    (root / "test/router.test.mjs").unlink()


def _failing_smoke(root: Path) -> None:
    (root / "scripts/smoke-health.mjs").write_text(
        "// Smoke: a health endpoint that needs no key (not built yet).\n"
        'import assert from "node:assert/strict";\n\n'
        'import { smoke, startStack } from "./lib/harness.mjs";\n\n'
        'await smoke("health", async () => {\n'
        "  const stack = await startStack((_req, res) => res.end());\n"
        "  try {\n"
        "    const res = await fetch(`${stack.base}/healthz`);\n"
        '    assert.equal(res.status, 200, "GET /healthz without a key");\n'
        "  } finally {\n"
        "    stack.stop();\n"
        "  }\n"
        "});\n",
        encoding="utf-8",
    )


def _tamper_dist(root: Path) -> None:
    append(root / "dist/router.js", "// patched by hand after signing\n")


def _no_bump(root: Path) -> None:
    edit(root / "package.json", '"version": "1.5.0"', '"version": "1.4.0"')


def _raw_key(root: Path) -> None:
    edit(
        root / "config/gateway.json",
        '"listen": "0.0.0.0:8080",',
        f'"listen": "0.0.0.0:8080",\n  "upstreamKey": "{fake_anthropic_key()}",',
    )


def _jwt_auth(root: Path) -> None:
    edit(root / "deploy/litellm.yaml", "enable_jwt_auth: false", "enable_jwt_auth: true")


def _check_lint(entry: dict[str, Any], _: str) -> None:
    text = reason_and_tail(entry)
    assert "exit code 1" in entry["reason"]
    assert "'leftover' is assigned a value but never used" in text
    assert "no-unused-vars" in text


def _check_types(entry: dict[str, Any], _: str) -> None:
    text = reason_and_tail(entry)
    assert "exit code" in entry["reason"]
    assert "src/router.ts" in text
    assert "TS2322" in text


def _check_tests(entry: dict[str, Any], _: str) -> None:
    passed = entry["details"]["passed"]
    assert passed < MIN_PASSED
    assert str(passed) in entry["reason"]
    assert str(MIN_PASSED) in entry["reason"]


def _check_smoke(entry: dict[str, Any], _: str) -> None:
    assert "smoke-health.mjs" in entry["reason"]
    assert "GET /healthz without a key" in reason_and_tail(entry)


def _check_witness(entry: dict[str, Any], _: str) -> None:
    assert "dist/router.js" in entry["reason"]
    assert "changed" in entry["reason"]


def _check_semver(entry: dict[str, Any], _: str) -> None:
    reason = entry["reason"]
    assert "minor" in reason
    assert "1.4.0" in reason
    assert "dist/router.d.ts" in reason or "dist/index.d.ts" in reason


def _check_secret(entry: dict[str, Any], everything: str) -> None:
    assert "config/gateway.json:3" in entry["reason"]
    assert "anthropic-api-key" in entry["reason"]
    assert fake_anthropic_key() not in everything
    assert fake_anthropic_key()[12:40] not in everything  # not even a slice of it


def _check_jwt(entry: dict[str, Any], _: str) -> None:
    assert "deploy/litellm.yaml:" in entry["reason"]
    assert "enable-jwt-auth" in entry["reason"]


BREAKS = {
    "lint-error": Break("lint", _lint_error, _check_lint),
    "type-error": Break("type-check", _type_error, _check_types),
    "deleted-tests": Break("unit-tests", _delete_tests, _check_tests),
    "failing-smoke": Break("smoke", _failing_smoke, _check_smoke),
    "tampered-dist": Break("witness", _tamper_dist, _check_witness),
    "api-change-without-bump": Break("semver", _no_bump, _check_semver),
    "raw-key-in-config": Break("no-secrets", _raw_key, _check_secret),
    "jwt-auth-in-deploy": Break("oss-only", _jwt_auth, _check_jwt),
}


def test_every_gate_has_a_break() -> None:
    assert sorted(b.gate for b in BREAKS.values()) == sorted(GATES)


@pytest.mark.parametrize("case", list(BREAKS))
def test_the_break_blocks_its_gate(repo: Path, case: str) -> None:
    broken = BREAKS[case]
    make_branch(repo, f"break-{case}", [broken])

    run = run_gates(repo, "--only", broken.gate)

    entry = assert_blocks_alone(run, broken.gate)
    broken.check(entry, everything_written(run, repo))


@pytest.mark.parametrize("gate", GATES)
def test_no_other_break_trips_the_gate(repo: Path, gate: str) -> None:
    """With every break but its own applied at once, the gate still passes."""
    others = [b for b in BREAKS.values() if b.gate != gate]
    make_branch(repo, f"all-breaks-but-{gate}", others)

    assert_passes_alone(run_gates(repo, "--only", gate), gate)
