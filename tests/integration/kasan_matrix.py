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

The Linux guest's runner (guest-driver/) prints the same lines through
printk: a "[    1.234567] " timestamp first and KTAP's 4-space subtest
indent, both stripped here; its case functions carry no "test_" prefix
(--func-prefix "").

With --tags (a `--mode tags` run) it also requires, of every matched report,
the `Pointer tag: [..], memory tag: [..]` line with the pointer tag of the
reported address (ff for a pointer without one: x86, whose untagged pointers
fault only on TAG_INVALID memory, so the memory tag must be fe; an arm64
pointer carries its TBI tag, and the memory tag must differ from it: fe, or
another object's tag for invalid-access), an allocation stack for slab bugs
and a free stack for use-after-free (tag mode takes both from the stack
ring). An invalid-access found no stack-ring entry with the pointer's tag, so
it has no stacks (as in Linux) and none is required. Accesses the guest marks
    # kasan-vmm needs pointer tags: <bug> <acc> <size>: <why>
and cases that print `# SKIP <why>` are listed in the matrix with the reason.
"""
import argparse
import re
import sys

SEP = "=" * 66
SLOP = 256  # bytes "next to" an object (redzone / neighbouring granules)
PRINTK_TIME = re.compile(r"^\[\s*\d+\.\d+\] ?")


def normalize(line):
    """A console line without printk's timestamp and KTAP's subtest indent."""
    return PRINTK_TIME.sub("", line).strip()


def parse(lines):
    """Yield (name, tap_ok, expectations, objects, reports, notes) per scenario."""
    exp, objs, reps, notes = [], [], [], []
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
        m = re.match(r"# kasan-vmm needs pointer tags: (.*)$", line)
        if m:
            notes.append(("needs pointer tags", m.group(1)))
        m = re.match(r"# SKIP (.*)$", line)
        if m:
            notes.append(("skipped", m.group(1)))
        m = re.match(r"# kasan-vmm object: 0x([0-9a-f]+) size (\d+)", line)
        if m:
            objs.append((int(m.group(1), 16), int(m.group(2))))
        m = re.match(r"(not )?ok \d+ - (\S+)", line)
        if m:
            yield m.group(2), m.group(1) is None, exp, objs, reps, notes
            exp, objs, reps, notes = [], [], [], []
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


def untag(addr):
    """Bit 55 copied into the top byte: an arm64 pointer without its TBI tag
    (x86's canonical addresses are unchanged)."""
    return addr | (0xff << 56) if addr >> 55 & 1 else addr & ((1 << 56) - 1)


def near(addr, objs):
    addr = untag(addr)
    return not objs or any(untag(o) - SLOP <= addr < untag(o) + n + SLOP for o, n in objs)


def tag_problem(bug, acc, addr, text):
    """What a tag-mode report lacks, or None."""
    m = re.search(r"^Pointer tag: \[([0-9a-f]{2})\], memory tag: \[([0-9a-f]{2})\]$", text, re.M)
    if not m:
        return "no Pointer tag/memory tag line"
    ptr = "%02x" % (addr >> 56) if untag(addr) != addr else "ff"
    mem = "fe" if bug != "invalid-access" or ptr == "ff" else "not " + ptr
    if m.group(1) != ptr or (acc != "Free" and (m.group(2) == ptr if mem.startswith("not")
                                               else m.group(2) != mem)):
        return "tags [%s]/[%s], expected pointer %s, memory %s" % (m.group(1), m.group(2), ptr, mem)
    if bug.startswith("slab-") and "Allocated by task" not in text:
        return "no allocation stack from the stack ring"
    if bug == "slab-use-after-free" and "Freed by task" not in text:
        return "no free stack from the stack ring"
    return None


def judge(name, exp, objs, reps, prefix="test_", tags=False):
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
                stackless = tags and bug == "invalid-access"
                if not stackless and not alloc_stack_names(g[4], prefix + name):
                    return False, want, got_s, "allocation stack does not name " + prefix + name
                why = tag_problem(bug, acc, g[3], g[4]) if tags else None
                if why:
                    return False, want, got_s, why
                break
        else:
            return False, want, got_s, "missing: %s %s %d" % (bug, acc, size)
    return True, want, got_s, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--func-prefix", default="test_",
                    help='scenario function = prefix + name ("" for the Linux runner)')
    ap.add_argument("--tags", action="store_true", help="tag-mode run (see above)")
    args = ap.parse_args()
    lines = [normalize(l) for l in open(args.output, errors="replace").read().splitlines()]
    rows, n, bad = [], 0, 0
    for name, tap_ok, exp, objs, reps, notes in parse(lines):
        if name == "kasan" and not exp and not reps:
            continue  # the KTAP suite line closing the Linux runner's subtests
        verdict, want, got, why = judge(name, exp, objs, reps, args.func_prefix, args.tags)
        if args.tags and notes:
            # listed, never silently dropped: what this run cannot check, and why
            for kind, what in notes:
                head, _, reason = what.partition(": ") if kind != "skipped" else ("", "", what)
                rows.append("%-34s | %-40s | %-40s | %s: %s" % (
                    name, head[:40] or "-", "-", kind.upper() if head else kind, reason))
            if verdict is None:
                n += 1
                print("ok %d - %s # SKIP %s" % (n, name, "; ".join(
                    "%s: %s" % (k, w) for k, w in notes)))
                continue
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
