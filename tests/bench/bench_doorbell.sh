#!/bin/bash
# Doorbell exits per event (issue 3): the test guest under build/kasan-vmm with
# --events sync, async and asymm, modes alternating, ROUNDS rounds. Prints per
# mode: events applied, doorbells (host count), doorbells per event, and for
# asymm the doorbells left after the synchronous frees per non-free event; plus
# the guest's own cost per event in each mode (mm_event_rate's timed loops,
# median over rounds) with the async/sync and asymm/sync ratios and the host
# kind (on kvm_pvm guest kernel code is emulated, which dominates the cost).
#
# usage: tests/bench/bench_doorbell.sh   (from the repository root)
#   BENCH_DOORBELL_TESTS  test guest selection (default below)
#   BENCH_DOORBELL_ROUNDS rounds (default 3)
set -u
cd "$(dirname "$0")/../.." || exit 1

TESTS=${BENCH_DOORBELL_TESTS:-mm_event_rate,mm_kmalloc_sizes,mm_page_roundtrip}
ROUNDS=${BENCH_DOORBELL_ROUNDS:-3}
MODES="sync async asymm"
BATCH=256 # KV_ASYNC_BATCH
VMM=build/kasan-vmm
GUEST=build/testguest.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tests/bench/host_kind.sh

echo "== bench_doorbell: $GUEST, 2 vCPUs, kasan_test=$TESTS; $ROUNDS rounds, modes alternating"
case $host in kvm_pvm*)
	echo "note: kvm_pvm host: guest kernel (CPL0) code is emulated by KVM (~370 ns/instruction),"
	echo "      so wall times are dominated by emulation; a doorbell is a port-I/O exit (~10 us here)"
	;;
esac

rc=0
for r in $(seq 1 "$ROUNDS"); do
	for m in $MODES; do
		out=$tmp/$m.$r
		t0=$(date +%s%N)
		$VMM run --kernel $GUEST --cpus 2 --events "$m" --append "kasan_test=$TESTS" \
			--timeout 300 >"$out" 2>&1
		st=$?
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000)) >"$out.ms"
		if [ $st -ne 0 ]; then
			echo "bench_doorbell: $m round $r: kasan-vmm exit status $st (guest tests failed or timed out)"
			grep -E '^not ok|^# ' "$out" | head -5
			rc=1
		fi
	done
done

median() {
	sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'
}

# median of the ms files of a mode
median_ms() {
	cat "$tmp/$1".*.ms | median
}

# Guest ns per event of mode $1 in mm_event_rate's loop $2 (aux_stack or
# kmalloc+kfree): its "# LOOP, mode M: N events in U us: ..." line, median of rounds.
guest_ns() {
	for r in $(seq 1 "$ROUNDS"); do
		sed -n "s/^# $2, mode [0-9]*: \([0-9]*\) events in \([0-9]*\) us:.*/\1 \2/p" "$tmp/$1.$r"
	done | awk '$1 > 0 {printf "%d\n", $2 * 1000 / $1}' | median
}

# Fields from the last round: events applied (host), doorbells, commands, free events, guest emitted.
stats() {
	awk '
	/^paravirt: [0-9]+ doorbells,/ { db = $2; cmd = $6; app = $8 }
	/^paravirt:   applied (slab_free|kfree_large|page_free|vfree|krealloc|cache_destroy|module_unload) / { frees += $4 }
	/^testguest: kasan-vmm events emitted:/ { em = $5 }
	END { printf "%d %d %d %d %d\n", app, db, cmd, frees, em }' "$tmp/$1.$ROUNDS"
}

# Explicit drains (kv_drain at test boundaries and exit) ring in every mode; in sync mode
# every event rings once, so they are what sync rang beyond events and commands.
read -r app db cmd frees em < <(stats sync)
explicit=$((db - cmd - app))
[ $explicit -lt 0 ] && explicit=0

printf '%-6s %8s %8s %9s %9s %10s %10s %12s %9s\n' mode events frees doorbells batched \
	"db/event" "events/db" "nonfree/db" "wall ms"
sync_ms=$(median_ms sync)
summary=""
checks=""
for m in $MODES; do
	read -r app db cmd frees em < <(stats "$m")
	ms=$(median_ms "$m")
	# doorbells rung because of events: minus command doorbells and explicit drains
	evdb=$((db - cmd - explicit))
	[ $evdb -lt 0 ] && evdb=0
	line=$(awk -v m="$m" -v app="$app" -v frees="$frees" -v db="$db" -v evdb="$evdb" \
		-v ms="$ms" -v sms="$sync_ms" -v b=$BATCH 'BEGIN {
		dpe = app ? evdb / app : 0
		epd = evdb ? app / evdb : app
		nf = "-"; ok = "ok"
		if (m == "sync") ok = (evdb >= app) ? "ok" : "LOW"
		if (m == "async") ok = (evdb * b <= app + b) ? "ok" : "MISSED"
		if (m == "asymm") {
			a = evdb - frees; if (a < 0) a = 0
			nf = sprintf("%.1f", a ? (app - frees) / a : app - frees)
			ok = (a * b <= (app - frees) + b) ? "ok" : "MISSED"
		}
		printf "%-6s %8d %8d %9d %9d %10.4f %10.1f %12s %9d %s\n", m, app, frees, db, evdb, dpe, epd, nf, ms, ok
	}')
	echo "$line"
	summary="$summary $m $(echo "$line" | awk '{print $6}')/event"
	checks="$checks $m:$(echo "$line" | awk '{print $NF}')"
	eval "app_$m=$app em_$m=$em db_$m=$db"
	case $line in *MISSED* | *LOW*) rc=1 ;; esac
done
echo "  doorbells: host count (paravirt stats); batched: minus $cmd command doorbells and $explicit explicit"
echo "  drains (kv_drain; measured in sync mode as doorbells - commands - events); db/event and events/db"
echo "  use batched; nonfree/db (asymm): non-free events per batched doorbell left after one synchronous"
echo "  doorbell per free. Goals: sync 1 per event; async and asymm allocs <= 1 per $BATCH events."
# shellcheck disable=SC2154
for m in $MODES; do
	eval "app=\$app_$m em=\$em_$m"
	if [ "$em" != "$app" ]; then
		echo "  $m: guest emitted $em but host applied $app"
		rc=1
	fi
done
# shellcheck disable=SC2154
if [ "$app_async" -lt $((BATCH * 10)) ]; then
	echo "  caveat: only $app_async events per run (< 10 batches of $BATCH): async counts are too small to mean much"
fi
# shellcheck disable=SC2154
echo "  exits saved vs sync: async $((db_sync - db_async)), asymm $((db_sync - db_asymm)) (~10 us each here:" \
	"$(((db_sync - db_async) / 100)) ms of a ${sync_ms} ms run; wall ms is the whole VM, boot included)"
echo "  checks:$checks"
# Guest cost per event: timed inside the guest, so boot and the VMM's exit do not count.
guest_line=""
for what in aux_stack kmalloc+kfree; do
	read -r s a y < <(echo "$(guest_ns sync $what) $(guest_ns async $what) $(guest_ns asymm $what)")
	if [ "$s" -gt 0 ] && [ "$a" -gt 0 ] && [ "$y" -gt 0 ]; then
		line=$(awk -v w="$what" -v s="$s" -v a="$a" -v y="$y" 'BEGIN {
			printf "%s ns/event sync %d async %d asymm %d, async/sync %.2f asymm/sync %.2f", w, s, a, y, a / s, y / s }')
	else
		line="$what ns/event n/a (mm_event_rate not in kasan_test=$TESTS?)"
		rc=1
	fi
	echo "  guest $line; host $host"
	guest_line="$guest_line; $line"
done
echo "bench_doorbell:$summary$guest_line; host $host"
exit $rc
