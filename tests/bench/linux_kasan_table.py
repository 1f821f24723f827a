#!/usr/bin/env python3
"""Side by side: Linux 6.1's KASAN KUnit suite run in the guest against
kasan-vmm's detection of the same cases on the plain kernel.

Inputs (tests/bench/bench_linux_kasan.sh):
  --kunit FILE   console of the KASAN kernel booted with the KUnit executor:
                 KTAP, `    ok N - case`, `    not ok N - case`,
                 `    ok N - case # SKIP why` inside `# Subtest: kasan`
                 (6.1's KUnit prints them without the dash).
                 A KUnit KASAN case is ok iff KASAN reported what it expects
                 (or, for the "must not report" cases, reported nothing).
  --plain FILE   console of the plain kernel's scenario runner
                 (kasan_test=all under kasan-vmm): the same KTAP shape.
  --matrix FILE  tests/integration/kasan_matrix.py's verdicts for --plain.
Either console may be missing (a run that failed): its column then says so.

Linux renamed some cases after 6.1; the runner (guest-driver/) uses today's
names, so the 6.1 names are mapped (RENAMED). Prints the table and one
`bench_linux_kasan: detection ...` totals line.
"""
import argparse
import os
import re
import sys

PRINTK_TIME = re.compile(r"^\[\s*\d+\.\d+\] ?")
CASE = re.compile(r"^    (not )?ok \d+ (?:- )?(\S+)(?: # SKIP ?(.*))?$")
SUBTEST = re.compile(r"^\s*# Subtest: (\S+)")

# 6.1's mm/kasan/kasan_test.c name -> today's name (the runner's).
RENAMED = {
    "kmalloc_pagealloc_oob_right": "kmalloc_large_oob_right",
    "kmalloc_pagealloc_uaf": "kmalloc_large_uaf",
    "kmalloc_pagealloc_invalid_free": "kmalloc_large_invalid_free",
    "pagealloc_oob_right": "page_alloc_oob_right",
    "pagealloc_uaf": "page_alloc_uaf",
    "kmalloc_large_oob_right": "kmalloc_big_oob_right",
    "krealloc_pagealloc_more_oob": "krealloc_large_more_oob",
    "krealloc_pagealloc_less_oob": "krealloc_large_less_oob",
}


def ktap_cases(path, suite="kasan"):
    """{case: (status, skip reason)} of one suite's subtests, status ok/not ok/skip."""
    cases, inside = {}, False
    if not path or not os.path.exists(path):
        return None
    for raw in open(path, errors="replace").read().splitlines():
        line = PRINTK_TIME.sub("", raw).rstrip()
        m = SUBTEST.match(line)
        if m:
            inside = m.group(1) == suite
            continue
        if not inside:
            continue
        m = CASE.match(line)
        if m:
            status = "skip" if m.group(3) is not None else ("not ok" if m.group(1) else "ok")
            cases[m.group(2)] = (status, (m.group(3) or "").strip())
        elif re.match(r"^(not )?ok \d+ (?:- )?" + re.escape(suite) + r"\b", line):
            inside = False
    return cases


def matrix_verdicts(path):
    """{scenario: (expected, verdict)} from kasan_matrix.py's matrix file."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    for line in open(path).read().splitlines()[1:]:
        cols = [c.strip() for c in line.split(" | ")]
        if len(cols) == 4:
            out[cols[0]] = (cols[1], cols[3])
    return out


def case_entry(name, cases, absent, skipped):
    """A KTAP case's cell when the run or the case is missing or skipped, else
    (None, (status, why)) for the caller to judge."""
    if cases is None:
        return ("n/a", "no run"), None
    if name not in cases:
        return ("none", absent), None
    status, why = cases[name]
    if status == "skip":
        return (skipped, "skipped: " + why), None
    return None, (status, why)


def vmm_cell(name, runner, verdicts):
    """(category, text) of kasan-vmm's result for one case on the plain kernel."""
    cell, entry = case_entry(name, runner, "no scenario", "notrun")
    if cell:
        return cell
    if name in verdicts:
        expected, verdict = verdicts[name]
        if verdict == "detected":
            return "ok", "no report (as expected)" if expected == "none" else "detected"
        return "missed", verdict.replace("MISSED: ", "missed: ")
    if entry[0] == "not ok":
        return "notrun", "case failed before its access"
    return "notrun", "no expectation printed"


def kunit_cell(name, kunit):
    """(category, text) of in-guest KASAN's KUnit result for one case."""
    cell, entry = case_entry(name, kunit, "not in 6.1's suite", "skip")
    return cell or (entry[0], entry[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kunit")
    ap.add_argument("--plain")
    ap.add_argument("--matrix")
    ap.add_argument("--width", type=int, default=48, help="width of the kasan-vmm column")
    args = ap.parse_args()
    kunit = ktap_cases(args.kunit)
    runner = ktap_cases(args.plain)
    verdicts = matrix_verdicts(args.matrix)

    rows = []
    kunit_names = list(kunit) if kunit else []
    for k in kunit_names:
        r = RENAMED.get(k, k)
        rows.append((k, r, kunit_cell(k, kunit), vmm_cell(r, runner, verdicts)))
    # Runner cases with no 6.1 KUnit counterpart (today's suite only).
    mapped = {RENAMED.get(k, k) for k in kunit_names}
    for r in (runner or {}):
        if r not in mapped:
            rows.append(("-", r, kunit_cell("-", kunit), vmm_cell(r, runner, verdicts)))

    w = args.width
    print("%-32s | %-30s | %-34s | %s" % ("KUnit case (6.1)", "runner case", "in-guest KASAN (KUnit)",
                                         "kasan-vmm on the plain kernel"))
    print("-" * 33 + "|" + "-" * 32 + "|" + "-" * 36 + "|" + "-" * (w + 1))
    for k, r, (kc, kt), (vc, vt) in rows:
        print("%-32s | %-30s | %-34s | %s" % (k, r if r != k else "", kt[:34], vt[:w]))

    def count(col, cat):
        return sum(1 for row in rows if row[col][0] == cat and row[0] != "-")

    n = len(kunit_names)
    print()
    if kunit is None:
        ks = "in-guest KASAN: no KUnit run"
    else:
        ks = "in-guest KASAN (KUnit): %d ok, %d not ok, %d skipped of %d cases" % (
            count(2, "ok"), count(2, "not ok"), count(2, "skip"), n)
    if runner is None:
        vs = "kasan-vmm: no plain-kernel run"
    else:
        extra = sum(1 for row in rows if row[0] == "-")
        extra_ok = sum(1 for row in rows if row[0] == "-" and row[3][0] == "ok")
        vs = ("kasan-vmm on the plain kernel: %d ok, %d missed, %d not run, %d no scenario "
              "of the same %d (+%d runner-only cases, %d ok)" % (
                  count(3, "ok"), count(3, "missed"), count(3, "notrun"), count(3, "none"),
                  n, extra, extra_ok))
    print("bench_linux_kasan: detection: %s; %s" % (ks, vs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
