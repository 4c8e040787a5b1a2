#!/usr/bin/env bash
# make lint: swift-format's lint over Coffer's own Swift (the rules in .swift-format), then no line over 140
# columns (swift-format wraps code but leaves a long string literal alone; split those with a multi-line literal and
# `\` line continuations, which keep the text exactly).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=140
# The working tree's Swift files, new ones included and deleted ones left out, so a change is linted before it is
# committed. Generated sources (Migrations/ embedded) and fixtures are data, not code.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.swift' | grep -v -e '/Generated/' -e '/Fixtures/' \
    | while read -r file; do [[ -f "$file" ]] && echo "$file"; done)

swift format lint --strict --parallel "${files[@]}"

long=$(awk -v limit="$limit" 'length($0) > limit { print FILENAME ":" FNR ": " length($0) " columns" }' "${files[@]}")
if [[ -n "$long" ]]; then
    echo "lint: lines over $limit columns:" >&2
    echo "$long" >&2
    exit 1
fi
echo "lint: swift-format clean; no line over $limit columns"
