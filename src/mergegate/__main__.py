"""Entry point: ``python -m mergegate`` and the ``mergegate`` console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from mergegate.cli import dispatch

    return dispatch(sys.argv[1:] if argv is None else list(argv))


if __name__ == "__main__":
    raise SystemExit(main())
