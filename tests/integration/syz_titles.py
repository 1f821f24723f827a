#!/usr/bin/env python3
"""Check each JSON sidecar title against syzkaller's title rules applied to the text.

An independent, deliberately small re-statement of syzkaller's rules
(pkg/report/linux.go): an access report is titled
"KASAN: <bug-type> <Read|Write> in <frame>", a double-free or invalid-free
report "KASAN: invalid-free in <frame>", where <frame> is the first Call
Trace function that does not match syzkaller's skip patterns.
"""
import json
import re
import sys

SKIP = [r"kasan", r"__asan", r"check_memory_region", r"print_address_description",
        r"k?v?(m|z|c)alloc", r"kv?free", r"kzfree", r"kmem_cache", r"slab_", r"krealloc",
        r"ksize", r"mempool", r"dump_stack", r"show_stack", r"panic",
        r"^(memcpy|memcmp|memset|memchr|memmove|memdup|strcmp|strncmp|strcpy|strlcpy|strncpy"
        r"|strscpy|strlen|strstr|strnstr|strnlen|strchr|strdup|strndup)$"]


def title(report):
    m = re.search(r"BUG: KASAN: (\S+)", report)
    bug = m.group(1)
    trace = report.split("Call Trace:")[1].split("</TASK>")[0]
    frames = re.findall(r"^ ([A-Za-z_.][\w.]*)\+0x", trace, re.M)
    frame = next((f for f in frames if not any(re.search(p, f) for p in SKIP)), None)
    if bug in ("double-free", "invalid-free"):
        return "KASAN: invalid-free in %s" % frame
    acc = re.search(r"^(Read|Write)", report, re.M).group(1)
    return "KASAN: %s %s in %s" % (bug, acc, frame)


def main():
    reports = [r for r in open(sys.argv[1]).read().split("=" * 66) if "BUG: KASAN:" in r]
    lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    if not reports or len(reports) != len(lines):
        print("# %d reports, %d JSON lines" % (len(reports), len(lines)))
        return 1
    bad = 0
    for rep, js in zip(reports, lines):
        want = title(rep)
        if js.get("title") != want:
            print("# title %r, expected %r" % (js.get("title"), want))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
