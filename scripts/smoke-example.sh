#!/usr/bin/env bash
# Smoke: a throwaway project with one failing and one passing gate blocks with exit 1 and
# writes reports a strict parser reads.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main
printf 'version: 1\ngates:\n  ok: {run: "true"}\n  broken: {run: "exit 3"}\n' > gates.yaml
set +e
mergegate run > out.txt 2>&1
code=$?
set -e
test "$code" -eq 1 || { cat out.txt; echo "expected exit 1, got $code"; exit 1; }
python3 - <<'PY'
import json
from defusedxml import ElementTree
report = json.load(open("reports/gates.json"))
assert report["verdict"] == "blocked", report
assert ElementTree.parse("reports/gates.xml").getroot().get("failures") == "1"
PY
