#!/usr/bin/env python3
"""Compares a zdtm run of Amber with the outcomes we hold to (src/test/zdtm/expected.tsv).

Called by scripts/zdtm. A test that falls short of its expected outcome is run once more on its
own; a second shortfall is a regression and makes the exit status 1. With --update the expected
file is rewritten from this run. With --table README the
per-test table between the zdtm markers of README is made again from expected.tsv and CRIU's
own results.
"""
import argparse
import os
import re
import subprocess
import sys

OUTCOMES = ("PASS", "REFUSED", "FAIL", "SKIP")
HEADER = """# The zdtm outcomes Amber holds to, one test a line: name, outcome, reason.
# PASS: passes after `amber checkpoint --kill` and `amber restart`. REFUSED: the checkpoint refuses,
# naming the resource, and the test runs on. FAIL: known broken. SKIP: the runner skips it here.
# scripts/zdtm fails on a PASS that no longer passes and on a REFUSED that now restarts broken.
# A refusal that later work lifts reads "later: WHAT (the issue that brings it): refusal".
# ZDTM_UPDATE=1 scripts/zdtm rewrites the outcomes from a run.
"""


def read_expected(path):
    rows = {}
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            rows[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return rows


def run_dir(detail):
    m = re.search(r"run dir (\S+)", detail)
    return m.group(1).rstrip(")") if m else None


def refusal_reason(detail):
    """The refusal lines Amber printed, joined; the runner keeps them in RUN/dump.out."""
    d = run_dir(detail)
    if not d or not os.path.exists(os.path.join(d, "dump.out")):
        return ""
    with open(os.path.join(d, "dump.out"), errors="replace") as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("amber: building")]
    return "; ".join(lines[:3])


def sanitize(text):
    """A reason as it reads in any run: no pids, inode numbers, addresses or run folders."""
    text = re.sub(r"amber: pid \d+ was not checkpointed and keeps running as it was", "", text)
    text = re.sub(r"/\S*?/zdtm-[^/\s]*/[^/\s]+\.[A-Za-z0-9]{6}/(cwd/)?", "", text)
    text = re.sub(r"/\S*/test/zdtm/static/", "", text)
    text = re.sub(r"\b(pid|thread|parent|tid) \d+", r"\1 N", text)
    text = re.sub(r"\[\d+\]", "[N]", text)
    text = re.sub(r"(inode|ino) \d+", r"\1 N", text)
    text = re.sub(r"0x[0-9a-f]{8,}(-0x[0-9a-f]{8,})?", "0xADDR", text)
    text = re.sub(r"\d\d:\d\d:\d\d\.\d+: +\d+: ", "", text)
    text = re.sub(r":\d{4,5}\b", ":PORT", text)
    return re.sub(r"(; )+$", "", re.sub(r"\s+", " ", text)).strip(" ;")


# Refusals that later work lifts: (what the refusal names, the work that brings it).
LATER = [
    (r"TCP connection in state SYN_|connection\(s\) waiting to be accepted", "TCP connections being set up (the network issue)"),
    (r"namespace net:", "network namespaces (the network issue)"),
    (r"namespace \w+:", "namespaces (the container issue)"),
    (r"\bcgroup: ", "cgroup membership (the container issue)"),
]


def later(reason):
    """'later: WHAT: reason' for a refusal that later work lifts, else the reason."""
    for pattern, what in LATER:
        if re.search(pattern, reason):
            return f"later: {what}: {reason}"
    return reason


def classify(verdict, detail):
    """(outcome, reason) of one runner line."""
    outcome, reason = classify_raw(verdict, detail)
    reason = sanitize(reason)
    return outcome, later(reason) if outcome == "REFUSED" else reason


def classify_raw(verdict, detail):
    if verdict == "PASS":
        return "PASS", ""
    if verdict == "XFAIL":
        return "REFUSED", refusal_reason(detail) or "checkpoint refused (crfail test)"
    if verdict == "SKIP":
        return "SKIP", detail
    if verdict == "FAIL" and detail.startswith("dump rc=3"):
        return "REFUSED", refusal_reason(detail)
    return "FAIL", re.sub(r";? ?run dir \S+", "", detail).strip()


def read_results(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            name, verdict, dms, rms, detail = parts[:5]
            rows[name] = (verdict, dms, rms, detail)
    return rows


def shortfall(expect, outcome):
    if expect == "PASS":
        return outcome != "PASS"
    if expect == "REFUSED":
        return outcome == "FAIL"
    return False


def better(expect, outcome):
    rank = {"FAIL": 0, "REFUSED": 1, "PASS": 2}
    return expect in rank and outcome in rank and rank[outcome] > rank[expect]


def rerun(args, name):
    tsv = os.path.join(os.path.dirname(args.results), "rerun.tsv")
    open(tsv, "w").close()
    hooks = "0" if name in args.no_hooks.split() else os.environ.get("HOOKS", "1")
    env = dict(os.environ, ZDTM_RESULTS_TSV=tsv, SKIP_NOAUTO="1", HOOKS=hooks)
    subprocess.run([args.runner, name, args.dump, args.restore], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = read_results(tsv)
    return rows.get(name, ("FAIL", "-", "-", "runner gave no result"))


def write_expected(path, rows):
    with open(path, "w") as f:
        f.write(HEADER)
        for name in sorted(rows):
            outcome, reason = rows[name]
            f.write(f"{name}\t{outcome}\t{reason}\n")


def compare(args):
    expected = read_expected(args.expected)
    results = read_results(args.results)
    summary, regressions, flaky, improved, new = [], [], [], [], []
    for name, (verdict, dms, rms, detail) in results.items():
        outcome, reason = classify(verdict, detail)
        expect = expected.get(name, (None, ""))[0]
        if expect and shortfall(expect, outcome):
            first = (outcome, reason)
            verdict, dms, rms, detail = rerun(args, name)
            outcome, reason = classify(verdict, detail)
            if shortfall(expect, outcome):
                regressions.append((name, expect, outcome, reason))
            else:
                flaky.append((name, first[0], first[1]))
        if expect is None:
            new.append((name, outcome, reason))
        elif better(expect, outcome):
            improved.append((name, expect, outcome))
        summary.append((name, expect or "-", outcome, dms, rms, reason))

    with open(args.summary, "w") as f:
        for row in summary:
            f.write("\t".join(row) + "\n")
    counts = {o: sum(1 for r in summary if r[2] == o) for o in OUTCOMES}
    print(f"zdtm: {len(summary)} tests in {args.elapsed} s: " +
          ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    for name, first, reason in flaky:
        print(f"zdtm: flaky: {name} was {first} ({reason}) and passed when run again")
    for name, expect, outcome in improved:
        print(f"zdtm: better than expected: {name} is {outcome}, expected {expect} "
              f"(ZDTM_UPDATE=1 scripts/zdtm {name} records it)")
    for name, outcome, reason in new:
        print(f"zdtm: not in expected.tsv: {name} {outcome} {reason}")
    for name, expect, outcome, reason in regressions:
        print(f"zdtm: REGRESSION: {name}: expected {expect}, got {outcome}: {reason}")

    if args.update:
        merged = dict(expected) if args.only_listed else {}
        for name, _, outcome, _, _, reason in summary:
            merged[name] = (outcome, reason)
        write_expected(args.expected, merged)
        print(f"zdtm: wrote {args.expected}")
    # The closing line in the form test runners print: the known failures count as failed.
    print(f"zdtm: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if regressions else 0


def table(args):
    """Remakes the per-test table between the zdtm markers of the README."""
    expected = read_expected(args.expected)
    criu = {}
    with open(args.criu) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                criu[parts[0]] = parts[1]
    names = sorted(set(expected) | set(criu))
    amber_counts = {o: sum(1 for n in names if expected.get(n, ("",))[0] == o) for o in OUTCOMES}
    criu_word = {"PASS": "PASS", "XFAIL": "REFUSED", "FAIL": "FAIL", "SKIP": "SKIP"}
    criu_counts = {o: sum(1 for n in names if criu_word.get(criu.get(n, ""), "") == o) for o in OUTCOMES}
    lines = ["| | PASS | REFUSED | FAIL | SKIP |", "|---|---|---|---|---|",
             "| Amber | " + " | ".join(str(amber_counts[o]) for o in OUTCOMES) + " |",
             "| CRIU 4.2 | " + " | ".join(str(criu_counts[o]) for o in OUTCOMES) + " |", "",
             "<details><summary>Every test: Amber and CRIU 4.2</summary>", "",
             "| test | Amber | CRIU 4.2 | why (Amber) |", "|---|---|---|---|"]
    for n in names:
        outcome, reason = expected.get(n, ("-", ""))
        if outcome == "SKIP" and criu.get(n) == "SKIP":
            continue
        reason = reason.replace("|", "\\|")
        lines.append(f"| {n} | {outcome} | {criu_word.get(criu.get(n, ''), '-')} | {reason} |")
    lines += ["", "Tests both skip here (other flavours, `noauto`, missing features) are left out.",
              "", "</details>"]
    with open(args.table) as f:
        text = f.read()
    begin, end = "<!-- zdtm-table begin -->", "<!-- zdtm-table end -->"
    if begin not in text or end not in text:
        sys.exit(f"zdtm-compare: {args.table} has no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(args.table, "w") as f:
        f.write(head + begin + "\n" + "\n".join(lines) + "\n" + end + tail)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--expected", required=True)
    p.add_argument("--results")
    p.add_argument("--summary")
    p.add_argument("--elapsed", default="?")
    p.add_argument("--runner")
    p.add_argument("--dump")
    p.add_argument("--restore")
    p.add_argument("--no-hooks", default="")
    p.add_argument("--update", action="store_true")
    p.add_argument("--only-listed", action="store_true")
    p.add_argument("--table")
    p.add_argument("--criu")
    args = p.parse_args()
    sys.exit(table(args) if args.table else compare(args))


if __name__ == "__main__":
    main()
