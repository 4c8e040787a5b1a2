#!/usr/bin/env python3
"""Keeps the differential suite's list of known differences (Tests/CofferServerTests/Hvac/differential_known.json)
and Docs/COMPATIBILITY.md's "Listed differences" section equal.

    scripts/compatibility-differences.py --prune FILE   drop entries the last run no longer saw (FILE: its output)
    scripts/compatibility-differences.py                rewrite the section from the JSON, grouped by reason
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KNOWN = os.path.join(ROOT, "Tests", "CofferServerTests", "Hvac", "differential_known.json")
DOC = os.path.join(ROOT, "Docs", "COMPATIBILITY.md")
HEADING = "## Listed differences"

known = json.load(open(KNOWN))
if len(sys.argv) == 3 and sys.argv[1] == "--prune":
    stale = re.findall(r"^listed but no longer seen \(remove it from differential_known.json\): (.*)$", open(sys.argv[2]).read(), re.M)
    for line in stale:
        known.pop(line, None)
    with open(KNOWN, "w") as out:
        json.dump(known, out, indent=1, sort_keys=True, ensure_ascii=False)
        out.write("\n")
    print(f"dropped {len(stale)} entries; {len(known)} remain")

groups = {}
for line, reason in sorted(known.items()):
    groups.setdefault(reason, []).append(line)
section = [HEADING, ""]
for reason, lines in groups.items():
    section += [f"### {reason}", ""] + [f"- `{line}`" for line in lines] + [""]
text = open(DOC).read()
start = text.index(HEADING)
rest = text.find("\n## ", start + len(HEADING))
tail = text[rest + 1:] if rest >= 0 else ""
with open(DOC, "w") as out:
    out.write(text[:start] + "\n".join(section).rstrip("\n") + "\n" + ("\n" + tail if tail else ""))
print(f"{DOC}: {len(known)} differences under {len(groups)} reasons")
