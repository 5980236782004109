"""Regenerate tests/fixtures/config_corpus: one gates.yaml per shape that once broke loading.

    python tests/make_config_corpus.py

Each ``NAME.yaml`` is a config that crashed the loader (exit 3), hung it, or got
an unlocated or pydantic-worded message; ``NAME.expect`` holds text the CLI's
error must contain (its line:column and plain words). tests/test_config_fuzz.py
runs every file through ``mergegate run --dry-run -c FILE``. The files are
committed; this script documents how the unreadable ones (deep nesting, 5,000
digits, invalid UTF-8) were made.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).parent / "fixtures" / "config_corpus"
H = b"version: 1\ngates:\n  lint:\n    run: ruff check .\n"


def _bomb() -> bytes:
    lines = [b"a: &a [x, x, x, x, x, x, x, x, x]\n"]
    for i in range(1, 12):
        prev = b"a" if i == 1 else b"l%d" % (i - 1)
        lines.append(b"l%d: &l%d [" % (i, i) + b", ".join([b"*" + prev] * 9) + b"]\n")
    return b"".join(lines)


CORPUS: dict[str, tuple[bytes, str]] = {
    "deep-flow": (
        b"version: 1\ngates: " + b"[" * 2000 + b"]" * 2000 + b"\n",
        ":2:71: the document nests deeper than 64 levels",
    ),
    "deep-block-mapping": (
        b"version: 1\ngates:\n" + b"".join(b" " * (i + 1) + b"a:\n" for i in range(400)),
        ":66:65: the document nests deeper than 64 levels",
    ),
    "deep-block-sequence": (
        b"version: 1\ngates:\n  lint:\n    run:\n      " + b"- " * 2000 + b"x\n",
        ":5:129: the document nests deeper than 64 levels",
    ),
    "huge-int-timeout": (
        H + b"    timeout: " + b"9" * 5000 + b"\n",
        ":5:14: this number is too large",
    ),
    "huge-int-min-passed": (
        b"version: 1\ngates:\n  t:\n    kind: tests\n    junit: r.xml\n    min_passed: -"
        + b"9" * 4400
        + b"\n",
        ":6:17: this number is too large",
    ),
    "timeout-inf": (
        H + b"    timeout: .inf\n",
        ":5:5: gates.lint.timeout: a duration must be at most 7 days",
    ),
    "timeout-nan": (
        H + b"    timeout: .nan\n",
        ":5:5: gates.lint.timeout: a duration must be greater than zero",
    ),
    "timeout-digits-string": (
        H + b"    timeout: '" + b"9" * 5000 + b"s'\n",
        ":5:5: gates.lint.timeout: invalid duration",
    ),
    "escape-beyond-unicode": (
        b'version: 1\ngates:\n  lint:\n    run: "echo \\U0011ffff"\n',
        ":4:16: YAML syntax error: this escape names no Unicode character",
    ),
    "lone-surrogate": (
        b'version: 1\ngates:\n  lint:\n    run: "echo \\ud800"\n',
        ":4:10: an escape here makes a lone surrogate",
    ),
    "nul-escape": (
        b'version: 1\ngates:\n  lint:\n    run: "echo a\\0b"\n',
        ":4:10: a NUL character",
    ),
    "int-tag-on-float": (
        H + b"    timeout: !!int 1e3\n",
        ":5:14: '1e3' is not a valid !!int value",
    ),
    "python-tag": (
        H + b"    env: !!python/object/apply:os.system [echo hi]\n",
        ":5:10: unknown tag '!!python/object/apply:os.system'",
    ),
    "custom-tag": (H + b"    description: !vault secret\n", ":5:18: unknown tag '!vault'"),
    "binary-tag": (
        H + b"    description: !!binary //79\n",
        ":5:5: gates.lint.description: expected a string, got binary data",
    ),
    "not-utf8": (
        b"version: 1\ngates:\n  lint:\n    run: echo caf\xe9 && true\n",
        ":4:18: not UTF-8 text: invalid byte 0xE9",
    ),
    "not-utf8-after-multibyte": (
        b"version: 1\n# \xc3\xa9\xc3\xa9 \xff\n",
        ":2:6: not UTF-8 text: invalid byte 0xFF",
    ),
    "utf16-bom": (
        "version: 1\ngates:\n  lint: {run: x}\n".encode("utf-16"),
        ":1:1: file is UTF-16 encoded",
    ),
    "nul-byte": (H + b"    description: a\x00b\n", ":5:19: a NUL byte (U+0000) is not allowed"),
    "control-char": (H + b"    description: bell\x07\n", ":5:22: a control character (U+0007)"),
    "bom-then-error": (
        b"\xef\xbb\xbfversion: 1\ngates:\n  lint:\n    runn: x\n",
        ":4:5: gates.lint.runn: unknown key (did you mean run?)",
    ),
    "gate-as-string": (
        b"version: 1\ngates:\n  lint: ruff check .\n",
        ":3:3: gates.lint: expected a mapping of keys (e.g. `run: ...`), "
        "got a string ('ruff check .') \u2014 check the indentation",
    ),
    "gate-keys-not-indented": (
        b"version: 1\ngates:\n  lint:\n  run: ruff check .\n",
        ":3:3: gates.lint: expected a mapping of keys (e.g. `run: ...`), "
        "got nothing (an empty value)",
    ),
    "gate-as-list": (
        b"version: 1\ngates:\n  lint:\n  - ruff check .\n",
        ":3:3: gates.lint: expected a mapping of keys (e.g. `run: ...`), got a list",
    ),
    "gate-as-number": (
        b"version: 1\ngates:\n  lint: 5\n",
        ":3:3: gates.lint: expected a mapping of keys (e.g. `run: ...`), got the number 5",
    ),
    "run-as-number": (
        H.replace(b"ruff check .", b"5"),
        ":4:5: gates.lint.run: expected a string or a list, got the number 5",
    ),
    "unclosed-quote": (
        b'version: 1\ngates:\n  lint:\n    run: "ruff check .\n  test:\n    run: pytest\n',
        ":4:10: YAML syntax error: this quoted string is never closed",
    ),
    "unclosed-single-quote": (
        b"version: 1\ngates:\n  lint:\n    description: 'lint it\n    run: ruff\n",
        ":4:18: YAML syntax error: this quoted string is never closed",
    ),
    "unclosed-flow-list": (
        b"version: 1\ngates:\n  lint:\n    run: [ruff, check\n",
        ":4:10: YAML syntax error: this `[` list is never closed with `]`",
    ),
    "tab-indent": (
        b"version: 1\ngates:\n  lint:\n\trun: ruff\n",
        ":4:1: YAML syntax error: a tab in the indentation",
    ),
    "duplicate-key": (
        H + b"    run: other\n",
        ":5:5: duplicate key 'run' (first written at line 4)",
    ),
    "unknown-kind": (
        H.replace(b"    run", b"    kind: test\n    run"),
        ":4:5: gates.lint.kind: unknown kind 'test' (did you mean tests?)",
    ),
    "long-value": (H + b"    timeout: '" + b"x" * 20000 + b"'\n", "xxxxxxxxxx\u2026': use seconds"),
    "alias-bomb": (_bomb(), "alias bomb"),
    "multi-document": (
        H + b"---\nversion: 1\n",
        ":5:1: YAML syntax error: gates.yaml holds more than one YAML document",
    ),
    "value-with-colon": (
        H + b"    description: lint: all files\n",
        ":5:22: YAML syntax error: unexpected `:` here",
    ),
    "version-2": (
        b"version: 2\ngates:\n  lint: {run: x}\n",
        ":1:1: version: unsupported version 2",
    ),
    "timestamp-tag-on-text": (
        H + b"    !!timestamp description: lint\n",
        ":5:5: 'description' is not a valid !!timestamp value",
    ),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (data, expect) in CORPUS.items():
        (OUT / f"{name}.yaml").write_bytes(data)
        (OUT / f"{name}.expect").write_text(expect + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
