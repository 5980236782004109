"""Counting from a runner's printed summary: each runner's documented final lines."""

from __future__ import annotations

import pytest

from mergegate.summary_lines import parse_summary, strip_ansi

JEST = """\
 PASS  src/parser.test.js
 FAIL  src/calculator.test.js
  ● Calculator › divides by zero

    expect(received).toThrow()

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 1 skipped, 2 todo, 40 passed, 44 total
Snapshots:   0 total
Time:        2.113 s
Ran all test suites.
"""

VITEST = """\
 ✓ src/math.test.ts (3 tests | 1 skipped) 6ms
 ❯ src/error.test.ts (2 tests | 1 failed) 9ms

 Test Files  1 failed | 1 passed (2)
      Tests  1 failed | 3 passed | 1 skipped (5)
   Start at  09:20:11
   Duration  412ms (transform 20ms, setup 0ms, collect 31ms, tests 15ms)
"""

CARGO = """\
   Compiling shop v0.1.0 (/work/shop)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.02s
     Running unittests src/lib.rs (target/debug/deps/shop-1a2b)

running 3 tests
test tests::adds ... ok
test tests::rounds ... ignored
test tests::divides ... FAILED

failures:

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-9f8e)

running 2 tests
test get_ok ... ok
test post_ok ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

   Doc-tests shop

running 1 test
test src/lib.rs - add (line 3) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s
"""

NODE_SPEC = """\
✔ top passes (1.2ms)
✖ top fails (2.1ms)
ℹ tests 5
ℹ suites 1
ℹ pass 3
ℹ fail 1
ℹ cancelled 1
ℹ skipped 0
ℹ todo 0
ℹ duration_ms 88.1
"""

GO = """\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestTable
=== RUN   TestTable/empty
    --- PASS: TestTable/empty (0.00s)
=== RUN   TestTable/long
    table_test.go:20: got 3, want 4
    --- FAIL: TestTable/long (0.00s)
--- FAIL: TestTable (0.00s)
=== RUN   TestNetwork
    net_test.go:9: needs network
--- SKIP: TestNetwork (0.00s)
FAIL
FAIL	example.com/shop	0.012s
"""


def counts(text: str) -> tuple[str, int, int, int, int]:
    found = parse_summary(text)
    assert found is not None, text
    return found.runner, found.passed, found.failed, found.errors, found.skipped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (JEST, ("jest", 40, 1, 0, 3)),
        ("Tests:       0 total\n", ("jest", 0, 0, 0, 0)),
        (VITEST, ("vitest", 3, 1, 0, 1)),
        (CARGO, ("cargo test", 4, 1, 0, 1)),
        (NODE_SPEC, ("node --test", 3, 1, 1, 0)),
        (GO, ("go test", 2, 2, 0, 1)),
        ("== 2 failed, 1998 passed, 3 skipped, 1 xfailed in 12.30s ==", ("pytest", 1998, 2, 0, 4)),
        ("1 passed, 1 error, 2 warnings in 0.12s", ("pytest", 1, 0, 1, 0)),
        ("==== 1999 passed in 75.31s (0:01:15) ====", ("pytest", 1999, 0, 0, 0)),
        ("3 passed, 1 xpassed, 2 subtests passed in 0.05s", ("pytest", 4, 0, 0, 0)),
        ("============ no tests ran in 0.01s ============", ("pytest", 0, 0, 0, 0)),
    ],
)
def test_documented_summaries(text: str, expected: tuple[str, int, int, int, int]) -> None:
    assert counts(text) == expected


def test_colours_are_ignored() -> None:
    text = (
        "\x1b[1mTests:       \x1b[22m\x1b[1m\x1b[31m1 failed\x1b[39m\x1b[22m, "
        "\x1b[1m\x1b[32m9 passed\x1b[39m\x1b[22m, 10 total\n"
    )
    assert counts(text) == ("jest", 9, 1, 0, 0)
    assert strip_ansi("\x1b]8;;https://x\x07link\x1b]8;;\x07") == "link"


def test_the_summary_printed_last_wins() -> None:
    text = "== 5 passed in 0.1s ==\n" + JEST  # a wrapper ran pytest, then jest
    assert counts(text)[0] == "jest"
    text = JEST + "\r\n== 7 passed in 0.1s ==\r\n"
    assert counts(text) == ("pytest", 7, 0, 0, 0)


def test_failing_test_names_are_read_where_printed() -> None:
    pytest_out = "FAILED tests/test_a.py::test_x - assert 1 == 2\nERROR tests/test_b.py::test_y\n"
    pytest_out += "1 failed, 1 error in 0.2s\n"
    found = parse_summary(pytest_out)
    assert found is not None
    assert found.failing == ("tests/test_a.py::test_x", "tests/test_b.py::test_y")
    cargo = parse_summary(CARGO)
    assert cargo is not None
    assert cargo.failing == ("tests::divides",)
    assert cargo.needs_full_output
    assert cargo.summary == "3 `test result:` lines: 4 passed; 1 failed; 1 ignored"
    go = parse_summary(GO)
    assert go is not None
    assert go.failing == ("TestTable/long", "TestTable")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "all good\n",
        "Tests: still running\n",
        "Tests  many passed (lots)\n",
        "in 0.1s\n",
        "5 apples in 0.3s\n",  # a pytest-shaped line with no word pytest prints
        "# pass 3\n",  # node's block without its totals line
    ],
)
def test_no_summary(text: str) -> None:
    assert parse_summary(text) is None


def test_one_cargo_result_line_is_named_in_the_singular() -> None:
    found = parse_summary("test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured;\n")
    assert found is not None
    assert found.summary == "1 `test result:` line: 2 passed; 0 failed; 0 ignored"
