"""Entry point: ``python -m mergegate`` and the ``mergegate`` console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from mergegate.cli import dispatch

    code = dispatch(sys.argv[1:] if argv is None else list(argv))
    if argv is None:  # the process's own entry (console script, -m): it ends now
        import gc

        gc.freeze()  # what a run built (griffe's trees) is not walked again on the way out
    return code


if __name__ == "__main__":
    raise SystemExit(main())
