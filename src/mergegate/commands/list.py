"""`mergegate list`: the gates of the discovered gates.yaml, as a table, JSON or bare names.

`--names` feeds shell completion, so it prints nothing but names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mergegate.config import load_config
from mergegate.results import EXIT_OK
from mergegate.spec import GateSpec as GateBase

COLUMNS = ("name", "kind", "needs", "if_changed", "blocking")


def gate_row(name: str, gate: GateBase) -> dict[str, object]:
    return {
        "name": name,
        "kind": str(getattr(gate, "kind", "command")),
        "needs": list(gate.needs),
        "if_changed": list(gate.if_changed),
        "blocking": gate.blocking,
    }


def _cell(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(rows: list[dict[str, object]]) -> str:
    """A plain aligned table (like `git branch -v`): no colour, easy to grep and diff."""
    cells = [list(COLUMNS), *([_cell(row[c]) for c in COLUMNS] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from mergegate.discovery import config_arg

    loaded = load_config(Path(config_arg(args)))
    rows = [gate_row(name, gate) for name, gate in loaded.gates.items()]
    if args.names:
        text = "".join(f"{row['name']}\n" for row in rows)
    elif args.json:
        text = json.dumps(rows, indent=2) + "\n"
    else:
        text = table(rows)
    sys.stdout.write(text)
    return EXIT_OK
