#!/usr/bin/env python3
"""Detection matrix: match the test guest's expectation lines with kasan-vmm's reports.

Reads one run's combined console + report output (chronological), where the
guest prints a plan line (1..N) and, per scenario:
    # kasan-vmm expects: <bug-type> <Read|Write|Free> <size>     (or: none)
    # kasan-vmm object: 0x<addr> size <n>
    ok N - <name> / not ok N - <name>
and kasan-vmm prints KASAN reports between '=' lines. A case's reports must
be exactly its expectations, in order: each of that bug type, access and
size, at an address inside or next to the object line printed with it, with
an allocation stack (slab or page) naming the scenario and, for
use-after-free and double-free, a free stack naming it too (the scenario
function, or a helper named <name>_*). 'none', or no expectation line at
all (mm_*/boot_* cases, skipped ones), means no report. Every case of the
plan must have run, and no report may come outside a case. Prints TAP per
case and writes the matrix to --matrix FILE, with a row for every case of
Linux's suite this run did not check and why (never counted as detected).

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
FREE_BUGS = ("slab-use-after-free", "use-after-free", "double-free")

# Cases of Linux's suite (../shared/reference/kasan-tests.md) that a run may
# not register at all: listed in the matrix with why, never counted.
INSTR = "needs compiler instrumentation"
NOT_REGISTERED = {
    "kasan_global_oob_right": INSTR + " (red zones around globals)",
    "kasan_global_oob_left": INSTR + " (red zones around globals)",
    "kasan_stack_oob": INSTR + " (stack red zones)",
    "kasan_alloca_oob_left": INSTR + " (alloca red zones)",
    "kasan_alloca_oob_right": INSTR + " (alloca red zones)",
    "rust_uaf": INSTR + " (Rust in the kernel)",
    "vmalloc_helpers_tags": "tag mode only; needs pointer tags and set_memory_ro",
    "vmap_tags": "tag mode only; needs pointer tags and vmap",
    "vm_map_ram_tags": "tag mode only; needs pointer tags and vm_map_ram",
    "match_all_not_assigned": "tag mode only; needs random pointer tags (x86 has no TBI/LAM)",
    "match_all_ptr_tag": "tag mode only; needs a tagged pointer besides the 0xff one",
    "match_all_mem_tag": "tag mode only; needs a tagged pointer to 0xff memory",
}


def normalize(line):
    """A console line without printk's timestamp and KTAP's subtest indent."""
    return PRINTK_TIME.sub("", line).strip()


class Run:
    """What parse() found besides the cases: plans, TAP numbers, stray reports."""

    def __init__(self):
        self.plans, self.numbers, self.stray = [], [], 0


def parse(lines, run=None):
    """Yield (name, tap_ok, expectations, objects, reports, notes) per scenario."""
    run = run or Run()
    exp, objs, reps, notes = [], [], [], []
    started = False
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
        m = re.match(r"1\.\.(\d+)$", line)
        if m:
            run.plans.append(int(m.group(1)))
            if not started and reps:
                run.stray += len(reps)  # before the first case: at boot
                reps = []
            started = True
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
        m = re.match(r"(not )?ok (\d+) - (\S+)", line)
        if m:
            run.numbers.append((int(m.group(2)), m.group(3)))
            yield m.group(3), m.group(1) is None, exp, objs, reps, notes
            exp, objs, reps, notes = [], [], [], []
        i += 1
    run.stray += len(reps)  # after the last case: nobody expected them


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


def stack_section(text, heads):
    """The first of the named stack sections in a report ("" if none)."""
    for head in heads:
        k = text.find(head)
        if k >= 0:
            return text[k:].split("\n\n")[0]
    return ""


def alloc_stack_names(text, func):
    """The scenario function appears in an allocation stack (slab or page owner)."""
    for head in ("Allocated by task", "page last allocated"):
        if re.search(r"\b%s\+0x" % re.escape(func), stack_section(text, (head,))):
            return True
    return False


def free_stack_names(text, func, name):
    """The free stack (the slab's, else the page owner's) names the scenario
    function or a helper of it (<name>_*: rcu_uaf_reclaim, workqueue_uaf_work)."""
    section = stack_section(text, ("Freed by task", "page last free stack trace"))
    pat = r"(?m)^ *(%s|%s_\w+)\+0x" % (re.escape(func), re.escape(name))
    return re.search(pat, section) is not None


def untag(addr):
    """Bit 55 copied into the top byte: an arm64 pointer without its TBI tag
    (x86's canonical addresses are unchanged)."""
    return addr | (0xff << 56) if addr >> 55 & 1 else addr & ((1 << 56) - 1)


def near(addr, obj):
    """addr lies inside the object (start, size) or within SLOP of it."""
    o, n = untag(obj[0]), obj[1]
    return o - SLOP <= untag(addr) < o + n + SLOP


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


def judge_one(name, e, obj, g, prefix, tags):
    """Why report g does not meet expectation e about object obj, or None."""
    bug, acc, size = e[0], e[1], int(e[2])
    if g[0] != bug or g[1] != acc or (acc != "Free" and g[2] != size):
        return "expected %s, got %s %s %d" % (" ".join(e), g[0], g[1], g[2])
    if obj is None:
        return "no object line for this expectation"
    if not near(g[3], obj):
        return "report address 0x%x not at the object 0x%x" % (g[3], obj[0])
    stackless = tags and bug == "invalid-access"
    if not stackless and not alloc_stack_names(g[4], prefix + name):
        return "allocation stack does not name " + prefix + name
    if not tags and bug in FREE_BUGS and not free_stack_names(g[4], prefix + name, name):
        return "free stack does not name " + prefix + name
    return tag_problem(bug, acc, g[3], g[4]) if tags else None


def bug_function(text):
    m = re.match(r"BUG: KASAN: \S+ in ([^+\s]+)", text)
    return m.group(1) if m else None


def collapse_walks(got, want):
    """A str* function walking freed or out-of-bounds bytes gets one report per
    byte it reads (as KASAN does with multi_shot): with more reports than the
    `want` expectations, count each walk once. A walk is the same bug, access
    and size in the same function at the next address; the same address twice
    (one access judged twice) is never one."""
    surplus = len(got) - want
    out = []
    for g in got:
        p = out[-1] if out else None
        if (surplus > 0 and p and g[:3] == p[0][:3] and g[2] and g[3] == p[1] + g[2]
                and bug_function(g[4]) == bug_function(p[0][4])):
            out[-1] = (p[0], g[3])
            surplus -= 1
            continue
        out.append((g, g[3]))
    return [g for g, _ in out]


def judge(name, exp, objs, reps, prefix="test_", tags=False):
    """(verdict, expected, got, why): verdict None for a case with nothing to
    check (no expectation line and no report)."""
    got = collapse_walks([describe(r) for r in reps], len(exp))
    got_s = ", ".join("%s %s %d" % (b, a, s) for b, a, s, _, _ in got) or "none"
    if exp == [["none"]] or not exp:
        want = "none" if exp else "(no expectation)"
        if got:
            return False, want, got_s, "%d report(s) where none is expected" % len(got)
        return (True if exp else None), want, got_s, ""
    want = ", ".join(" ".join(e) for e in exp)
    if len(got) != len(exp):
        return False, want, got_s, "%d report(s) for %d expectation(s)" % (len(got), len(exp))
    for k, (e, g) in enumerate(zip(exp, got)):
        why = judge_one(name, e, objs[k] if k < len(objs) else None, g, prefix, tags)
        if why:
            return False, want, got_s, "report %d: %s" % (k + 1, why)
    return True, want, got_s, ""


def row(name, want, got, verdict):
    return "%-34s | %-40s | %-40s | %s" % (name, want[:40], got[:40], verdict)


def plan_problem(run):
    """Why the run's TAP lines do not cover its plan, or None."""
    if not run.plans:
        return "no plan line"
    want = max(run.plans)  # the Linux runner: KTAP's 1..1 and the suite's 1..N
    got = sorted(num for num, name in run.numbers if name != "kasan")
    if got != list(range(1, want + 1)):
        missing = sorted(set(range(1, want + 1)) - set(got))
        extra = len(got) - (want - len(missing))
        return "plan 1..%d: %d case line(s), missing %s, %d extra or repeated" % (
            want, len(got), ",".join(map(str, missing[:10])) or "none", extra)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--func-prefix", default="test_",
                    help='scenario function = prefix + name ("" for the Linux runner)')
    ap.add_argument("--tags", action="store_true", help="tag-mode run (see above)")
    args = ap.parse_args()
    lines = [normalize(l) for l in open(args.output, errors="replace").read().splitlines()]
    rows, listed, seen, run = [], [], [], Run()
    n = bad = 0
    count = {"detected": 0, "expecting": 0, "clean": 0, "must-not": 0}

    def tap(verdict, name, why):
        nonlocal n, bad
        n += 1
        bad += not verdict
        print("%s %d - %s%s" % ("ok" if verdict else "not ok", n, name, " # " + why if why else ""))

    for name, tap_ok, exp, objs, reps, notes in parse(lines, run):
        seen.append(name)
        if name == "kasan" and not exp and not reps:
            continue  # the KTAP suite line closing the Linux runner's subtests
        verdict, want, got, why = judge(name, exp, objs, reps, args.func_prefix, args.tags)
        for kind, what in notes:
            # listed, never silently dropped: what this run cannot check, and why
            head, _, reason = what.partition(": ") if kind != "skipped" else ("", "", what)
            listed.append(row(name, head or "-", "-", "%s: %s" % (
                kind.upper() if head else "not run", reason)))
        if verdict is None:
            if notes:
                n += 1
                print("ok %d - %s # SKIP %s" % (n, name, "; ".join(w for _, w in notes)))
            elif not tap_ok and name.startswith(("mm_", "boot_")):
                tap(False, name, "the guest's own self-test failed")
            else:
                tap(True, name, "no expectation line, no report")
            continue
        if not tap_ok and verdict:
            verdict, why = False, "the guest's own test case failed"
        tap(verdict, name, why)
        if want != "(no expectation)":  # a self-test (mm_*, boot_*) is no scenario
            kind = ("clean", "must-not") if want == "none" else ("detected", "expecting")
            count[kind[0]] += verdict
            count[kind[1]] += 1
        rows.append(row(name, want, got, "detected" if verdict and want != "none" else
                        "no report, as expected" if verdict else "MISSED: " + why))
    for name, why in NOT_REGISTERED.items():
        if name not in seen:
            listed.append(row(name, "-", "-", "not run: " + why))
    why = plan_problem(run)
    tap(why is None, "every case of the plan ran", why or "")
    tap(run.stray == 0, "no report outside a case",
        "%d report(s) before the first or after the last case" % run.stray if run.stray else "")
    summary = ("%(detected)d detected of %(expecting)d cases expecting reports, "
               "%(clean)d clean of %(must-not)d must-not-report cases, " % count +
               "%d listed as not checked by this run" % len(listed))
    with open(args.matrix, "w") as f:
        f.write(row("scenario", "expected", "got", "verdict") + "\n")
        f.write("\n".join(rows + listed) + "\n")
        f.write("# %s\n" % summary)
    print("# " + summary)
    if not rows:
        print("not ok %d - no scenario found in the output" % (n + 1))
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
