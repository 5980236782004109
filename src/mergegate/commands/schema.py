"""`mergegate schema`: the JSON Schema of gates.yaml, for editors (yaml-language-server).

The same text is published as ``schema/gates.schema.json`` (a test keeps the two
equal), so a ``# yaml-language-server: $schema=…`` line at the top of gates.yaml
gives completion and validation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Where the published schema is served from; `mergegate init` writes it into gates.yaml.
SCHEMA_URL = "https://raw.githubusercontent.com/mergegate/mergegate/main/schema/gates.schema.json"


def schema_text() -> str:
    """The schema as stable JSON: sorted keys, two-space indent, a trailing newline."""
    from mergegate.config import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(args: argparse.Namespace) -> int:
    text = schema_text()
    output = getattr(args, "output", None)
    if not output:
        sys.stdout.write(text)
        return 0
    from mergegate.report.write import write_atomic

    write_atomic(Path(output), text)
    sys.stderr.write(f"mergegate: wrote the gates.yaml schema to {output}\n")
    return 0
