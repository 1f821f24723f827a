#!/bin/bash
# `make bench`: every benchmark, one after the other, on this host. Each prints
# ratios against a baseline measured in the same invocation; none asserts wall time.
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/bench/host_kind.sh
. tests/bench/host_kind.sh
echo "== make bench: host $host, $(nproc) cores, $(uname -r)"

rc=0
results=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # name command...: output shown and kept for the summary
	local name=$1
	shift
	echo
	"$@" 2>&1 | tee "$tmp/$name"
	if [ "${PIPESTATUS[0]}" -eq 0 ]; then
		results="$results $name:ok"
	else
		results="$results $name:FAIL"
		rc=1
	fi
}

run ept build/bench/bench_ept
# bench_events also replays a real test-guest run, recorded here (KASAN_VMM_RECORD_EVENTS)
rec=$tmp/events.rec
if ! KASAN_VMM_RECORD_EVENTS=$rec build/kasan-vmm run --kernel build/testguest.elf --cpus 2 \
	--events async --timeout 600 \
	--append kasan_test=mm_event_rate,mm_kmalloc_sizes,mm_slab_smp_concurrent,mm_page_roundtrip,mm_vmalloc \
	>"$tmp/record.log" 2>&1; then
	echo "bench: recording a test-guest event stream failed:"
	tail -5 "$tmp/record.log"
	rc=1
fi
run events env BENCH_EVENTS_RECORDING="$rec" build/bench/bench_events
run boot build/bench/bench_boot 5
run doorbell tests/bench/bench_doorbell.sh
run policy tests/bench/bench_policy.sh
run flood tests/bench/bench_flood.sh
# Linux's in-guest KASAN vs kasan-vmm on the same 6.1 source: builds (or reuses)
# two kernels and boots them several times (tens of minutes on an emulating
# host); BENCH_LINUX=0 leaves it out.
if [ "${BENCH_LINUX:-1}" != 0 ]; then
	run linux_kasan tests/bench/bench_linux_kasan.sh
fi

# Headline numbers from each benchmark's own output.
ev=$(sed -n 's/^bench_events: consumer \([0-9.]*\) M.*sanitizer \([0-9.]*\) M.*/consumer \1 M\/s, sanitizer \2 M\/s/p' "$tmp/events")
ev="$ev$(sed -n 's/^bench_events: .*recorded stream consumer \([0-9.]*\) M.*end to end \([0-9.]*\) M.*/, recorded guest stream consumer \1 M\/s end to end \2 M\/s/p' "$tmp/events")"
bt=$(sed -n 's/^bench_boot: kasan-vmm\/QEMU boot-to-online \([0-9.]*\), to exit \([0-9.]*\).*/vmm\/qemu online \1 exit \2/p' "$tmp/boot")
db=$(sed -n 's/^bench_doorbell: sync \([0-9.]*\)\/event async \([0-9.]*\)\/event asymm \([0-9.]*\)\/event.*/doorbells\/event sync \1 async \2 asymm \3/p' "$tmp/doorbell")
# guest cost per kmalloc+kfree event relative to sync (timed in the guest)
db="$db$(sed -n 's/^bench_doorbell: .*kmalloc+kfree ns\/event .*async\/sync \([0-9.]*\) asymm\/sync \([0-9.]*\).*/, guest cost async\/sync \1 asymm\/sync \2/p' "$tmp/doorbell")"
fl=$(sed -n 's/^bench_flood: peak RSS calm \([0-9]*\) MiB.*flood \([0-9]*\) MiB.*caps \([0-9]*\) MiB.*/flood RSS \2 MiB (calm \1, caps \3)/p' "$tmp/flood")
lk=
if [ -f "$tmp/linux_kasan" ]; then
	lk=$(sed -n 's/^bench_linux_kasan: KUnit ok \([^,]*\), kasan-vmm ok \([^;]*\); alloc guest time vs plain: *\(.*\)/linux KUnit-KASAN ok \1, kasan-vmm ok \2, alloc \3/p' "$tmp/linux_kasan")
	lk="; ${lk:-linux n/a}"
fi
echo
echo "bench summary (host ${host%% *}):$results | ${ev:-events n/a}; ${bt:-boot n/a}; ${db:-doorbell n/a}; ${fl:-flood n/a}$lk"
exit $rc
