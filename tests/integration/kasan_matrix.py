#!/usr/bin/env python3
"""Detection matrix: match the test guest's expectation lines with kasan-vmm's reports.

Reads one run's combined console + report output (chronological), where the
guest prints, per scenario:
    # kasan-vmm object: 0x<addr> size <n>
    # kasan-vmm expects: <bug-type> <Read|Write|Free> <size>     (or: none)
    ok N - <name> / not ok N - <name>
and kasan-vmm prints KASAN reports between '=' lines. Each expectation must be
met, in order, by a report of that bug type, access and size whose address
lies inside or next to the object and whose allocation stack (slab or page)
names the scenario; 'none' means no report at all. Extra reports (e.g. an
event-time check finding the same bug again) are allowed, except in 'none'
cases. Prints TAP per scenario and writes the matrix to --matrix FILE.
"""
import argparse
import re
import sys

SEP = "=" * 66
SLOP = 256  # bytes "next to" an object (redzone / neighbouring granules)


def parse(lines):
    """Yield (name, tap_ok, expectations, objects, reports) per scenario."""
    exp, objs, reps = [], [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == SEP and i + 1 < len(lines) and lines[i + 1].startswith("BUG: KASAN:"):
            j = i + 1
            while j < len(lines) and lines[j] != SEP:
                j += 1
            reps.append(lines[i + 1:j])
            i = j + 1
            continue
        m = re.match(r"# kasan-vmm expects: (.*)$", line)
        if m:
            exp.append(m.group(1).split())
        m = re.match(r"# kasan-vmm object: 0x([0-9a-f]+) size (\d+)", line)
        if m:
            objs.append((int(m.group(1), 16), int(m.group(2))))
        m = re.match(r"(not )?ok \d+ - (\S+)", line)
        if m:
            yield m.group(2), m.group(1) is None, exp, objs, reps
            exp, objs, reps = [], [], []
        i += 1


def describe(rep):
    """(bug_type, access, size, addr, text) of one report."""
    text = "\n".join(rep)
    bug = re.match(r"BUG: KASAN: (\S+)", rep[0]).group(1)
    m = re.search(r"^(Read|Write) of size (\d+) at addr ([0-9a-f]+)", text, re.M)
    if m:
        return bug, m.group(1), int(m.group(2)), int(m.group(3), 16), text
    m = re.search(r"^(Read|Write) at addr ([0-9a-f]+)", text, re.M)
    if m:
        return bug, m.group(1), 0, int(m.group(2), 16), text
    m = re.search(r"^Free of addr ([0-9a-f]+)", text, re.M)
    if m:
        return bug, "Free", 0, int(m.group(1), 16), text
    return bug, "?", 0, 0, text


def alloc_stack_names(text, func):
    """The scenario function appears in an allocation stack (slab or page owner)."""
    for head in ("Allocated by task", "page last allocated"):
        k = text.find(head)
        if k >= 0:
            section = text[k:].split("\n\n")[0]
            if re.search(r"\b%s\+0x" % re.escape(func), section):
                return True
    return False


def near(addr, objs):
    return not objs or any(o - SLOP <= addr < o + n + SLOP for o, n in objs)


def judge(name, exp, objs, reps):
    got = [describe(r) for r in reps]
    got_s = ", ".join("%s %s %d" % (b, a, s) for b, a, s, _, _ in got) or "none"
    if exp == [["none"]] or not exp:
        want = "none" if exp else "(no expectation)"
        return (not got) if exp else None, want, got_s, "" if not got else "unexpected report"
    want = ", ".join(" ".join(e) for e in exp)
    k = 0
    for bug, acc, size in ((e[0], e[1], int(e[2])) for e in exp):
        while k < len(got):
            g = got[k]
            k += 1
            if g[0] == bug and g[1] == acc and (acc == "Free" or g[2] == size):
                if not near(g[3], objs):
                    return False, want, got_s, "report address 0x%x not at the object" % g[3]
                if not alloc_stack_names(g[4], "test_" + name):
                    return False, want, got_s, "allocation stack does not name test_" + name
                break
        else:
            return False, want, got_s, "missing: %s %s %d" % (bug, acc, size)
    return True, want, got_s, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--matrix", required=True)
    args = ap.parse_args()
    lines = open(args.output, errors="replace").read().splitlines()
    rows, n, bad = [], 0, 0
    for name, tap_ok, exp, objs, reps in parse(lines):
        verdict, want, got, why = judge(name, exp, objs, reps)
        if verdict is None:
            continue  # cases with no expectation line (e.g. skipped tag-mode cases)
        n += 1
        if not tap_ok:
            verdict, why = False, "the guest's own test case failed"
        bad += not verdict
        print("%s %d - %s%s" % ("ok" if verdict else "not ok", n, name, " # " + why if why else ""))
        rows.append("%-34s | %-40s | %-40s | %s" % (name, want[:40], got[:40],
                                                    "detected" if verdict else "MISSED: " + why))
    with open(args.matrix, "w") as f:
        f.write("%-34s | %-40s | %-40s | %s\n" % ("scenario", "expected", "got", "verdict"))
        f.write("\n".join(rows) + "\n")
    if n == 0:
        print("not ok 1 - no scenario found in the output")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
