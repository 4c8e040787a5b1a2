#!/usr/bin/env bash
# make lint: swift-format's lint over Coffer's own Swift (the rules in .swift-format), then a line-length
# ratchet: no line over 140 columns in a file that has none today, and no file with more than it had when the
# baseline was written (scripts/line-length-baseline.txt). The baseline only shrinks: run
# `bash scripts/lint.sh --rebaseline` after shortening lines, never to admit new ones.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=140
baseline=scripts/line-length-baseline.txt
# The working tree's Swift files, new ones included and deleted ones left out, so a change is linted before it is
# committed.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.swift' | grep -v -e '/Generated/' -e '/Fixtures/' \
    | while read -r file; do [[ -f "$file" ]] && echo "$file"; done)

counts() {
    awk -v limit="$limit" 'length($0) > limit { n[FILENAME]++ } END { for (f in n) print f, n[f] }' "${files[@]}" | sort
}

if [[ "${1:-}" == "--rebaseline" ]]; then
    counts > "$baseline"
    echo "lint: baseline now $(awk '{ s += $2 } END { print s + 0 }' "$baseline") lines over $limit columns in $(wc -l < "$baseline") files"
    exit 0
fi

swift format lint --strict --parallel "${files[@]}"

current=$(counts)
status=0
while read -r file count; do
    allowed=$(awk -v f="$file" '$1 == f { print $2 }' "$baseline")
    if (( count > ${allowed:-0} )); then
        echo "lint: $file has $count lines over $limit columns (baseline ${allowed:-0}):" >&2
        awk -v limit="$limit" 'length($0) > limit { print FILENAME ":" FNR ": " length($0) " columns" }' "$file" >&2
        status=1
    fi
done <<< "$current"
(( status == 0 )) && echo "lint: swift-format clean; $(awk '{ s += $2 } END { print s + 0 }' <<< "$current") lines over $limit columns, none beyond the baseline"
exit $status
