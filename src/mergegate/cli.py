"""The argparse parser (importable for tests and docs) and the dispatch table.

Start-up stays lean: this module imports only the standard library; each
subcommand's module (and pydantic, rich, yaml with it) loads when it runs.
"""

from __future__ import annotations

import sys

from mergegate import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

# subcommand -> module in mergegate.commands whose main(args) -> int runs it
COMMANDS: dict[str, str] = {
    "run": "run",
    "schema": "schema",
    "init": "init",
    "witness": "witness",
    "merge": "merge",
    "baseline": "baseline",
    "list": "list",
    "completion": "completion",
}


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _positive_int(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _shard(value: str) -> tuple[int, int]:
    import argparse

    try:
        index, total = (int(p) for p in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected INDEX/TOTAL like 2/4, got {value!r}") from None
    if not 1 <= index <= total:
        raise argparse.ArgumentTypeError("shard INDEX must be between 1 and TOTAL")
    return index, total


def _add_config(p: argparse.ArgumentParser, default: str | None = None) -> None:
    where = (
        f"default: {default}"
        if default
        else "default: $MERGEGATE_CONFIG, else gates.yaml here or in the nearest parent "
        "up to the repository root"
    )
    p.add_argument(
        "-c", "--config", default=default, metavar="FILE", help=f"the gates file ({where})"
    )


def _add_output(p: argparse.ArgumentParser) -> None:
    """-q/-v and --no-color, shared by the commands that print a run."""
    loud = p.add_mutually_exclusive_group()
    loud.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures and the verdict"
    )
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="also print the output of passing gates"
    )
    p.add_argument(
        "--no-color", action="store_true", help="no colour or other styling (like NO_COLOR=1)"
    )


def _baseline_arguments(baseline: argparse.ArgumentParser) -> None:
    bsub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    update = bsub.add_parser("update", help="write the current counts to .mergegate/baseline.json")
    _add_config(update)
    update.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="NAME",
        help="only this tests gate (repeatable)",
    )
    update.add_argument(
        "--from",
        dest="from_report",
        metavar="REPORT",
        help="take the counts from this JSON report instead of running",
    )
    update.add_argument("--base", metavar="REF", help="the base ref, for gates that need one")


# subcommand -> its one-line help (the top-level --help lists them all)
HELP: dict[str, str] = {
    "run": "run the gates and print the verdict",
    "list": "list the gates: name, kind, needs, if_changed, blocking",
    "schema": "print the JSON Schema of gates.yaml",
    "init": "write a starter gates.yaml for the project here",
    "witness": "sign and verify the witness manifest",
    "baseline": "the test-count ratchet (min_passed: baseline)",
    "merge": "fold shard JSON reports into one verdict",
    "completion": "print a shell completion script",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, the other subcommands get no arguments.

    Parsing ``mergegate run ...`` needs only run's arguments: building the
    others costs a few milliseconds of every run's start-up.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="mergegate",
        description="Run the before-merge gates declared in gates.yaml and block the merge "
        "when one fails.",
        epilog="exit codes: 0 allowed, 1 blocked, 2 usage/config error, 3 internal error, "
        "130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"mergegate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, add_arguments in _ARGUMENTS.items():
        command = sub.add_parser(name, help=HELP[name])
        if only is None or only == name:
            add_arguments(command)
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("gates", nargs="*", metavar="GATE", help="run only these gates (like --only)")
    _add_config(run)
    run.add_argument(
        "--only",
        type=_csv,
        default=[],
        metavar="A,B",
        action="extend",
        help="run only these gates (and nothing they need)",
    )
    run.add_argument(
        "--skip", type=_csv, default=[], metavar="C", action="extend", help="skip these gates"
    )
    run.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=None,
        metavar="N",
        help="gates run at once (default: twice the usable CPUs, at least 8)",
    )
    run.add_argument("--fail-fast", action="store_true", help="stop at the first blocking failure")
    run.add_argument("--base", metavar="REF", help="the ref diff-based gates compare against")
    run.add_argument("--junit", metavar="PATH", help="JUnit report path (default from gates.yaml)")
    run.add_argument("--json", metavar="PATH", help="JSON report path (default from gates.yaml)")
    run.add_argument("--summary", metavar="PATH", help="also write a Markdown summary here")
    run.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N",
        help="run a deterministic share of the gates (for a CI matrix)",
    )
    run.add_argument(
        "--durations",
        metavar="FILE",
        help="a previous JSON report: --shard balances the shards by its gate durations",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print the plan and a preflight; run nothing"
    )
    run.add_argument(
        "--no-cache", action="store_true", help="run every gate, even one whose last pass is cached"
    )
    _add_output(run)


def _list_arguments(gates: argparse.ArgumentParser) -> None:
    _add_config(gates)
    shape = gates.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="as a JSON array")
    shape.add_argument("--names", action="store_true", help="names only, one per line")


def _schema_arguments(schema: argparse.ArgumentParser) -> None:
    schema.add_argument("-o", "--output", metavar="FILE", help="write it here instead of stdout")


def _init_arguments(init: argparse.ArgumentParser) -> None:
    _add_config(init, "gates.yaml")


def _witness_arguments(witness: argparse.ArgumentParser) -> None:
    wsub = witness.add_subparsers(dest="witness_command", metavar="ACTION", required=True)
    sign = wsub.add_parser("sign", help="append a manifest entry for the current files")
    sign.add_argument("--message", "-m", required=True, help='e.g. "merge: #123 — fix"')
    sign.add_argument(
        "--key",
        metavar="FILE",
        help="Ed25519 private key (PEM); else $MERGEGATE_WITNESS_KEY; else unsigned",
    )
    _add_config(sign)
    sign.add_argument("--gate", metavar="NAME", help="the witness gate whose paths to use")
    verify = wsub.add_parser("verify", help="check the files against the newest entry")
    verify.add_argument("--public-key", metavar="FILE", help="require a signature by this key")
    _add_config(verify)
    verify.add_argument("--gate", metavar="NAME", help="the witness gate whose paths to use")
    keygen = wsub.add_parser("keygen", help="write witness.key and witness.pub into DIR")
    keygen.add_argument("dir", metavar="DIR")


def _merge_arguments(merge: argparse.ArgumentParser) -> None:
    merge.add_argument("reports", nargs="+", metavar="REPORT")
    merge.add_argument("--junit", metavar="PATH", default="reports/gates.xml")
    merge.add_argument("--json", metavar="PATH", default="reports/gates.json")
    merge.add_argument("--summary", metavar="PATH")
    _add_output(merge)


def _completion_arguments(completion: argparse.ArgumentParser) -> None:
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _run_arguments,
    "list": _list_arguments,
    "schema": _schema_arguments,
    "init": _init_arguments,
    "witness": _witness_arguments,
    "baseline": _baseline_arguments,
    "merge": _merge_arguments,
    "completion": _completion_arguments,
}


def dispatch(argv: Sequence[str]) -> int:
    if list(argv) == ["--version"]:  # scripts and CI logs call it most: argparse not needed
        sys.stdout.write(f"mergegate {__version__}\n")
        return 0
    argv = list(argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)  # exits 2 on usage errors, 0 for --help/--version
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from mergegate.errors import error_boundary

    with error_boundary() as box:
        import importlib

        module = importlib.import_module(f"mergegate.commands.{COMMANDS[args.command]}")
        box[0] = int(module.main(args))
    return box[0]
