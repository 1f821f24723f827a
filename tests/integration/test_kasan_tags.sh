#!/bin/bash
# Tag mode end to end (issue 9): the test guest runs every KASAN scenario
# under `--mode tags` on x86, where pointers carry no tag (match-all), so only
# TAG_INVALID memory (freed objects and pages, red zones, slack past the
# object's last granule) faults. The guest sees KV_FEAT_TAGS and prints the
# tag-mode expectations (16-byte granules, Linux's tag-mode bug types); each
# must be met by a report with `Pointer tag: [ff], memory tag: [fe]` and
# stack-ring alloc/free stacks. Then tag_fault=async and asymm: a fault is
# recorded at the access and reported at the next drain point.
source "$(dirname "$0")/lib.sh"
mkdir -p build/test-logs

run_vmm "$TMP/tags" run --kernel "$GUEST" --mode tags --multi_shot on --timeout 900 \
	--append kasan_test=all
check "tag mode, kasan_test=all: the guest finished, all its cases passed (exit $rc)" [ "$rc" = 0 ]
check "the guest saw KV_FEAT_TAGS (features 0x7)" grep -q "features 0x7" "$TMP/tags"
matrix=build/test-logs/kasan-matrix-tags.txt
rm -f "$matrix" # never show an earlier run's
# (kasan_matrix.py lists the cases the guest does not register, with why)
python3 tests/integration/kasan_matrix.py "$TMP/tags" --tags --matrix "$matrix" >"$TMP/tap" 2>&1
mrc=$?
# (no pipe into the loop: ok/not_ok must count in this shell)
while read -r line; do
	case "$line" in
	"ok "[0-9]*" - "*) ok "[tags] ${line#ok * - }" ;;
	"not ok "[0-9]*" - "*) not_ok "[tags] ${line#not ok * - }" ;;
	*) echo "# $line" ;;
	esac
done <"$TMP/tap"
check "[tags] kasan_matrix.py ran to the end and passed (exit $mrc)" [ "$mrc" = 0 ]
echo "# tag-mode detection matrix, x86, 1 vCPU ($matrix):"
sed 's/^/# /' "$matrix"

# async: the access completes silently; the next drain (here the guest's next
# console output, an I/O exit) reports it without the access's details.
run_vmm "$TMP/async" run --kernel "$GUEST" --mode tags --tag_fault async --multi_shot on \
	--timeout 120 --append kasan_test=kmalloc_uaf
check "tag_fault=async: the guest finished (exit $rc)" [ "$rc" = 0 ]
check "tag_fault=async: no synchronous report of the access" \
	bash -c "! grep -q '^Read of size' '$TMP/async'"
check "tag_fault=async: 'BUG: KASAN: invalid-access' + 'Asynchronous fault: no details available'" \
	grep -A1 -q "^BUG: KASAN: invalid-access$" "$TMP/async"
check "tag_fault=async: reported after the faulting access, at the next drain" \
	awk '/kasan-vmm expects: slab-use-after-free/ {e = NR} /^Asynchronous fault: no details available$/ && e {a = NR}
	     /^ok [0-9]+ - kmalloc_uaf$/ {o = NR} END {exit !(e && a > e && (!o || o > a))}' "$TMP/async"
check "tag_fault=async: the drain point's stack is printed" \
	grep -A6 -q "^Call Trace:" "$TMP/async"

# asymm: reads sync (kmalloc_uaf reads), writes async (kmalloc_uaf_memset writes)
run_vmm "$TMP/asymm" run --kernel "$GUEST" --mode tags --tag_fault asymm --multi_shot on \
	--timeout 120 --append kasan_test=kmalloc_uaf,kmalloc_uaf_memset
check "tag_fault=asymm: the guest finished (exit $rc)" [ "$rc" = 0 ]
check "tag_fault=asymm: the read is reported synchronously (slab-use-after-free Read)" \
	grep -q "^Read of size 1 at addr" "$TMP/asymm"
check "tag_fault=asymm: the write is reported asynchronously" \
	grep -q "^Asynchronous fault: no details available$" "$TMP/asymm"
check "tag_fault=asymm: no synchronous Write report" bash -c "! grep -q '^Write of size' '$TMP/asymm'"
