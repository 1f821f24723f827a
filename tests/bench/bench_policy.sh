#!/bin/bash
# Arming policies (issue 5): an allocation-heavy test-guest workload with the
# sanitizer off, then with each --arm policy, rounds alternating; prints the
# median wall time, the ratio to sanitizer-off, traps taken and bugs found by
# the scenarios mixed in (so cheaper is weighed against detection).
#
#   BENCH_POLICY_TESTS   test guest selection (default below)
#   BENCH_POLICY_ROUNDS  rounds (default 3)
set -u
cd "$(dirname "$0")/../.." || exit 1

TESTS=${BENCH_POLICY_TESTS:-mm_event_rate,mm_kmalloc_sizes,mm_slab_cache,kmalloc_oob_right,kmalloc_uaf,page_alloc_uaf,kasan_atomics}
ROUNDS=${BENCH_POLICY_ROUNDS:-3}
CONFIGS="off all freed sampled adaptive"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== bench_policy: build/testguest.elf, 2 vCPUs, kasan_test=$TESTS; $ROUNDS rounds"
[ -e /sys/module/kvm_pvm ] && echo "note: kvm_pvm host: guest kernel code is emulated; traps cost ~10 us here"

now_ms() { date +%s%3N; }
for r in $(seq 1 "$ROUNDS"); do
	for c in $CONFIGS; do
		if [ "$c" = off ]; then args=(--mode off); else args=(--arm "$c" --multi_shot on); fi
		t0=$(now_ms)
		build/kasan-vmm run --kernel build/testguest.elf --cpus 2 --timeout 600 \
			--append "kasan_test=$TESTS" "${args[@]}" >"$tmp/$c.$r" 2>&1
		rc=$?
		echo $(($(now_ms) - t0)) >>"$tmp/$c.ms"
		# A failed run (crash, timeout, failed case) has no meaningful time: fail the bench.
		if [ "$rc" != 0 ]; then
			echo "bench_policy: FAILED: --arm $c round $r: kasan-vmm exit $rc; its last lines:" >&2
			tail -n 5 "$tmp/$c.$r" >&2
			exit 1
		fi
	done
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
base=$(median "$tmp/off.ms")
printf '%-10s %10s %10s %12s %8s\n' policy "median ms" "vs off" "traps" reports
for c in $CONFIGS; do
	m=$(median "$tmp/$c.ms")
	traps=$(sed -n 's/.*traps: allowed \([0-9]*\), reported \([0-9]*\).*/\1 \2/p' "$tmp/$c.$ROUNDS" |
		awk '{print $1 + $2}')
	reports=$(grep -c '^BUG: KASAN' "$tmp/$c.$ROUNDS")
	printf '%-10s %10s %10s %12s %8s\n' "$c" "$m" "$(awk "BEGIN {printf \"%.2f\", $m / $base}")" \
		"${traps:--}" "$reports"
done
best=$(for c in all freed sampled adaptive; do echo "$(median "$tmp/$c.ms") $c"; done | sort -n | head -1)
echo "bench_policy: sanitizer-off ${base} ms; fastest policy ${best#* } (${best%% *} ms)"
