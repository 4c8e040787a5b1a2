#!/usr/bin/env python3
"""libFuzzer over every parser Coffer runs on outside input (`make fuzz`; Docs/RELIABILITY.md).

Runs each target of `coffer-fuzz` (built with -sanitize=fuzzer,address by `make fuzz`) for a set time, starting
from the committed corpus (Tests/CofferFuzzingTests/Corpus/TARGET) and the target's seeds (built in code, and
repository files such as Policies/*.hcl read where they live), and prints
per target: executions, executions per second, edges covered, coverage features, corpus size, crashes.

New inputs go to .build-fuzz/corpus/TARGET; a crash or a failed property leaves its input in
.build-fuzz/crashes/TARGET/ and fails the run. `--merge` then adds to the committed corpus only the new inputs
that reach code the corpus does not (libFuzzer's -merge=1), which keeps it small.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Tests", "CofferFuzzingTests", "Corpus")


def targets():
    return sorted(name for name in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, name)))


def run_target(binary, name, seconds, work, max_len):
    new_dir = os.path.join(work, "corpus", name)
    seed_dir = os.path.join(work, "seeds", name)
    crash_dir = os.path.join(work, "crashes", name)
    for folder in (new_dir, seed_dir, crash_dir):
        os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, COFFER_FUZZ_TARGET=name, COFFER_FUZZ_SEED_DIR=seed_dir, COFFER_FUZZ_ROOT=ROOT,
               # Swift's runtime keeps metadata caches for the life of the process: not leaks of Coffer's.
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               # Swift's own crash reporter would symbolicate the whole binary after a trap and hold the run.
               SWIFT_BACKTRACE="enable=no")
    command = [binary, f"-max_total_time={seconds}", "-print_final_stats=1", f"-max_len={max_len}",
               "-timeout=10", "-rss_limit_mb=4096", f"-artifact_prefix={crash_dir}/", new_dir, seed_dir,
               os.path.join(CORPUS, name)]
    started = time.monotonic()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    elapsed = time.monotonic() - started
    log = result.stdout
    with open(os.path.join(work, f"{name}.log"), "w") as handle:
        handle.write(log)

    def stat(key):
        match = re.search(rf"stat::{key}:\s+(\d+)", log)
        return int(match.group(1)) if match else 0

    counters = re.search(r"\((\d+) inline 8-bit counters\)", log)
    lines = [line for line in log.splitlines() if re.match(r"#\d+\s", line) and "cov:" in line]
    last = lines[-1] if lines else ""
    cov = re.search(r"cov: (\d+)", last)
    ft = re.search(r"ft: (\d+)", last)
    corp = re.search(r"corp: (\d+)/", last)
    crashes = sorted(os.listdir(crash_dir))
    return {
        "target": name, "seconds": round(elapsed), "execs": stat("number_of_executed_units"),
        "per_second": stat("average_exec_per_sec"), "cov": int(cov.group(1)) if cov else 0,
        "ft": int(ft.group(1)) if ft else 0, "corpus": int(corp.group(1)) if corp else 0,
        "counters": int(counters.group(1)) if counters else 0, "rss": stat("peak_rss_mb"),
        "crashes": crashes, "exit": result.returncode,
        "finding": next((line for line in log.splitlines() if "Fatal error" in line or "ERROR: AddressSanitizer" in line
                         or "ERROR: libFuzzer" in line), ""),
    }


def merge(binary, name, work):
    """Adds to the committed corpus the new inputs that cover what it does not."""
    env = dict(os.environ, COFFER_FUZZ_TARGET=name, ASAN_OPTIONS="detect_leaks=0", SWIFT_BACKTRACE="enable=no")
    committed = os.path.join(CORPUS, name)
    before = len(os.listdir(committed))
    subprocess.run([binary, "-merge=1", committed, os.path.join(work, "corpus", name)], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return len(os.listdir(committed)) - before


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build-fuzz", "debug", "coffer-fuzz"))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "60")),
                        help="per target (FUZZ_SECONDS, default 60)")
    parser.add_argument("--targets", default=os.environ.get("FUZZ_TARGETS", ""),
                        help="comma-separated (FUZZ_TARGETS; default all)")
    parser.add_argument("--work", default=os.path.join(ROOT, ".build-fuzz", "work"))
    parser.add_argument("--max-len", type=int, default=4096)
    parser.add_argument("--merge", action="store_true", help="add coverage-increasing new inputs to the committed corpus")
    args = parser.parse_args()

    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} is missing: `make fuzz` builds it (swift build --build-path .build-fuzz "
                 "-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DCOFFER_LIBFUZZER)")
    names = [name for name in args.targets.split(",") if name] or targets()
    unknown = set(names) - set(targets())
    if unknown:
        sys.exit(f"no such target: {', '.join(sorted(unknown))}; targets: {', '.join(targets())}")
    shutil.rmtree(os.path.join(args.work, "crashes"), ignore_errors=True)

    rows = []
    header = f"{'target':<18} {'s':>4} {'executions':>11} {'exec/s':>7} {'edges':>6} {'features':>8} {'corpus':>6} {'crashes':>7}"
    print(header, flush=True)
    for name in names:
        row = run_target(args.binary, name, args.seconds, args.work, args.max_len)
        rows.append(row)
        print(f"{row['target']:<18} {row['seconds']:>4} {row['execs']:>11,} {row['per_second']:>7,} {row['cov']:>6,} "
              f"{row['ft']:>8,} {row['corpus']:>6} {len(row['crashes']):>7}", flush=True)
    total = sum(row["execs"] for row in rows)
    counters = max((row["counters"] for row in rows), default=0)
    print(f"{'total':<18} {sum(r['seconds'] for r in rows):>4} {total:>11,}   "
          f"(edges: of {counters:,} instrumented in the whole binary, NIO and Foundation's callers included)")

    failed = [row for row in rows if row["crashes"] or row["exit"] != 0]
    for row in failed:
        print(f"\n{row['target']}: exit {row['exit']}, {row['finding'] or 'see the log'}")
        for crash in row["crashes"]:
            print(f"  reproduce: .build/debug/coffer-fuzz {row['target']} "
                  f"{os.path.join(args.work, 'crashes', row['target'], crash)}")
        print(f"  log: {os.path.join(args.work, row['target'] + '.log')}")
    if failed:
        sys.exit(1)
    if args.merge:
        for name in names:
            print(f"{name}: {merge(args.binary, name, args.work)} inputs added to the committed corpus")


if __name__ == "__main__":
    main()
