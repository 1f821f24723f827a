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
plog=$TMP/panic.log
run_vmm "$TMP/panic" run --kernel "$GUEST" --timeout 300 --fault panic --log "$plog" \
	--append "kasan_test=kmalloc_double_kzfree,kmem_cache_invalid_free"
check "fault=panic exits 125 (got $rc)" [ "$rc" = 125 ]
check "fault=panic leaves exactly one complete report" \
	[ "$(grep -c '^BUG: KASAN' "$plog")" = 1 -a "$(grep -c '^=\{66\}$' "$plog")" = 2 ]
check "fault=panic stopped the guest before its second scenario ran" \
	bash -c "! grep -q '^ok 2 - kmem_cache_invalid_free' '$TMP/panic'"

# stacktrace=off keeps no stacks: the sections say so, as KASAN's do.
run_vmm "$TMP/nostack" run --kernel "$GUEST" --timeout 300 --stacktrace off \
	--append "kasan_test=kmalloc_double_kzfree"
check "stacktrace=off: allocation stack not kept" \
	grep -A1 '^Allocated by task' "$TMP/nostack" | grep -q '(stack is not available)'
# page_alloc_sample: unsampled page allocations are not tracked (slab ones still are).
run_vmm "$TMP/sample1" run --kernel "$GUEST" --timeout 300 --append "kasan_test=page_alloc_uaf,kmalloc_uaf"
run_vmm "$TMP/sampleN" run --kernel "$GUEST" --timeout 300 --page_alloc_sample 1000000 \
	--multi_shot on --append "kasan_test=page_alloc_uaf,kmalloc_uaf"
check "page_alloc_sample=1 tracks page allocations" grep -q '^BUG: KASAN: use-after-free in test_page_alloc_uaf' "$TMP/sample1"
check "page_alloc_sample=1000000 leaves them untracked" \
	bash -c "! grep -q '^BUG: KASAN: use-after-free in test_page_alloc_uaf' '$TMP/sampleN'"
check "page_alloc_sample does not touch slab tracking" grep -q '^BUG: KASAN: slab-use-after-free in test_kmalloc_uaf' "$TMP/sampleN"
