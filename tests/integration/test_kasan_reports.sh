#!/bin/bash
# Event-time checks on real test-guest scenarios: double-free, invalid-free
# and slack corruption reach the durable log with frames symbolized from the
# guest's ELF symbols, the JSON sidecar has one object per report, and each
# title is what syzkaller's rules give for the report text. Also fault=panic.
source "$(dirname "$0")/lib.sh"

log=$TMP/kasan.log
run_vmm "$TMP/run" run --kernel "$GUEST" --cpus 2 --timeout 300 --multi_shot on --log "$log" \
	--append "kasan_test=kmalloc_double_kzfree,kmem_cache_invalid_free,kmalloc_large_invalid_free,kmalloc_oob_right,kasan_strings,kmalloc_oob_in_memset,rcu_uaf,mempool_slab_uaf"
check "the guest finished its scenarios (exit $rc)" [ "$rc" = 0 ]
check "double-free report names the scenario" \
	grep -q "^BUG: KASAN: double-free in test_kmalloc_double_kzfree+0x[0-9a-f]*/0x[0-9a-f]*$" "$log"
check "invalid-free report names the scenario" \
	grep -q "^BUG: KASAN: invalid-free in test_kmem_cache_invalid_free+0x" "$log"
check "invalid free of a large kmalloc is reported" \
	grep -q "^BUG: KASAN: invalid-free in test_kmalloc_large_invalid_free+0x" "$log"
check "the double-free shows alloc and free stacks of the scenario" \
	python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rep = [r for r in text.split("=" * 66) if "double-free in test_kmalloc_double_kzfree" in r][0]
alloc = rep.split("Allocated by task")[1].split("\n\n")[0]
free = rep.split("Freed by task")[1].split("\n\n")[0]
sys.exit(0 if "test_kmalloc_double_kzfree+0x" in alloc and "test_kmalloc_double_kzfree+0x" in free else 1)
PY
check "slab-out-of-bounds writes are reported at the access" \
	grep -q "^Write of size 1 at addr ffff888" "$log"
check "every report has a JSON line whose title follows syzkaller's rules" \
	python3 "$(dirname "$0")/syz_titles.py" "$log" "$log.jsonl"
run_vmm "$TMP/summary" report "$log"
check "kasan-vmm report summarizes by title" grep -qE "^ *[0-9]+ KASAN: (double|invalid)-free in " "$TMP/summary"

# fault=panic: the run stops at the first report, with the report complete on disk.
# one_complete_report FILE ACCESS_LINE: exactly one report, from its opening
# '=' line through its BUG line and access line to its closing '=' line.
one_complete_report() {
	awk -v acc="$2" -v eq="$(printf '=%.0s' {1..66})" '
		BEGIN { sep = -1 }
		$0 == eq { if (inrep) { closed++; inrep = 0 } else sep = NR; next }
		/^BUG: KASAN: / { bugs++; inrep = (sep == NR - 1); next }
		inrep && index($0, acc) == 1 { accs++ }
		END { exit !(bugs == 1 && closed == 1 && accs == 1) }' "$1"
}
# no_tap_lines FILE NAME...: the guest printed no TAP line (ok or not ok) for any NAME
no_tap_lines() {
	local f=$1 name
	shift
	for name; do
		grep -qE "^(not )?ok [0-9]+ - $name\$" "$f" && return 1
	done
	return 0
}
# panic_run NAME WHAT BUG ACCESS_LINE CASE1 CASE2: a fault=panic run stopped in
# CASE1 by the bug of type BUG: exit 125, one complete report with that access
# line and the case's function, and no TAP line for either case.
panic_run() {
	local out=$TMP/panic-$1 what=$2 bug=$3 acc=$4 first=$5 second=$6
	run_vmm "$out" run --kernel "$GUEST" --timeout 300 --fault panic --log "$out.log" \
		--append "kasan_test=$first,$second"
	check "fault=panic at $what exits 125 (got $rc)" [ "$rc" = 125 ]
	check "fault=panic at $what leaves exactly one complete report, with its '$acc' line" \
		one_complete_report "$out.log" "$acc"
	check "fault=panic at $what: the report is $first's $bug" \
		grep -q "^BUG: KASAN: $bug in test_$first+0x" "$out.log"
	check "fault=panic at $what: no TAP line for $first nor $second" \
		no_tap_lines "$out" "$first" "$second"
	check "fault=panic at $what: $second never started" \
		bash -c "test \$(grep -c '^# kasan-vmm expects: ' '$out') = 1"
}
panic_run event "an event-time bug" double-free "Free of addr ffff" \
	kmalloc_double_kzfree kmem_cache_invalid_free
# kmalloc_oob_right makes three bad writes: panic stops at the first
panic_run access "a trapped access" slab-out-of-bounds "Write of size 1 at addr ffff" \
	kmalloc_oob_right kmalloc_uaf

# stacktrace=off keeps no stacks: the sections say so, as KASAN's do.
run_vmm "$TMP/nostack" run --kernel "$GUEST" --timeout 300 --stacktrace off \
	--append "kasan_test=kmalloc_double_kzfree"
# (one command for check: a pipe after it would swallow its TAP line)
check "stacktrace=off: allocation stack not kept" \
	bash -c "grep -A1 '^Allocated by task' '$TMP/nostack' | grep -q '(stack is not available)'"
# page_alloc_sample: unsampled page allocations are not tracked (slab ones still are).
run_vmm "$TMP/sample1" run --kernel "$GUEST" --timeout 300 --append "kasan_test=page_alloc_uaf,kmalloc_uaf"
run_vmm "$TMP/sampleN" run --kernel "$GUEST" --timeout 300 --page_alloc_sample 1000000 \
	--multi_shot on --append "kasan_test=page_alloc_uaf,kmalloc_uaf"
check "page_alloc_sample=1 tracks page allocations" grep -q '^BUG: KASAN: use-after-free in test_page_alloc_uaf' "$TMP/sample1"
check "page_alloc_sample=1000000 leaves them untracked" \
	bash -c "! grep -q '^BUG: KASAN: use-after-free in test_page_alloc_uaf' '$TMP/sampleN'"
check "page_alloc_sample does not touch slab tracking" grep -q '^BUG: KASAN: slab-use-after-free in test_kmalloc_uaf' "$TMP/sampleN"
