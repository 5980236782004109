#!/usr/bin/env bash
# Smoke: the installed CLI answers, prints its schema, and plans this repository's own gates.
set -euo pipefail
mergegate --version | grep -q '^mergegate '
mergegate schema | python3 -c 'import json, sys; assert json.load(sys.stdin)["title"]'
mergegate run --dry-run --skip unit-tests > /dev/null
