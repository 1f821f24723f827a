#!/bin/bash
# Short libFuzzer runs of the parsers and loaders (TAP): the config command
# line, the INI file, the bzImage/PVH loaders and the libvirt domain XML
# (the ABI decoder has its own test_fuzz_consumer.sh). For each target the
# committed seeds (and fixed crash inputs) must replay cleanly, then
# FUZZ_SHORT_SECONDS (default 8) of fuzzing must find no crash. New inputs
# go to a temporary directory; a crash input is kept in build/fuzz/.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SHORT_SECONDS:-8}
targets="config_cli config_ini boot libvirt_xml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
tap() { n=$((n + 1)); echo "$1 $n - $2"; }

for t in $targets; do
	bin=build/fuzz/fuzz_$t
	seeds=tests/fuzz/corpus/$t
	if ! make -s "$bin" >/dev/null 2>"$work/build.log"; then
		tap "not ok" "fuzz_$t builds"
		cat "$work/build.log"
		continue
	fi
	KV_FUZZ_STATS=1 "$bin" -close_fd_mask=2 "$seeds"/* >"$work/$t.replay" 2>&1
	rc=$?
	nseeds=$(ls "$seeds" | wc -l)
	if [ "$t" = boot ]; then # every boot seed is a valid image that loads
		bad=$(grep -c 'kv_fuzz_stats kind=[12] load=0' "$work/$t.replay")
		[ "$bad" -ge "$nseeds" ] && bad=0 || bad=1
	else
		bad=0
	fi
	if [ "$rc" -eq 0 ] && [ "$nseeds" -gt 0 ] && [ "$bad" = 0 ]; then
		tap "ok" "fuzz_$t replays its $nseeds seeds cleanly"
	else
		tap "not ok" "fuzz_$t seed replay (rc $rc)"
		tail -20 "$work/$t.replay"
	fi
	mkdir -p "$work/corpus-$t"
	cp "$seeds"/* "$work/corpus-$t/"
	"$bin" -max_total_time="$secs" -max_len=16384 -close_fd_mask=2 \
		-artifact_prefix="$work/$t-" -print_final_stats=1 "$work/corpus-$t" >"$work/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
	if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
		tap "ok" "fuzz_$t ran $execs execs without a crash"
	else
		tap "not ok" "fuzz_$t found a crash (rc $rc)"
		grep -A30 -E 'ERROR|==[0-9]+==' "$work/$t.log" | head -60
		mkdir -p build/fuzz
		cp "$work"/$t-crash-* "$work"/$t-leak-* "$work"/$t-timeout-* build/fuzz/ 2>/dev/null
	fi
done
echo "1..$n"
