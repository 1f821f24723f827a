#!/bin/bash
# Short libFuzzer run of the paravirt consumer (TAP). The committed seeds must
# each replay cleanly and apply events; then FUZZ_SHORT_SECONDS (default 20)
# of fuzzing must find no crash. New inputs go to a temporary directory.
set -u
cd "$(dirname "$0")/../.."
bin=build/fuzz/fuzz_consumer
seeds=tests/fuzz/corpus/consumer
secs=${FUZZ_SHORT_SECONDS:-20}

echo "1..2"
if ! make -s "$bin" >/dev/null; then
	echo "not ok 1 - fuzz_consumer builds"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Seeds: one stats line per input; every seed is a valid stream, so each applies events.
KV_FUZZ_STATS=1 "$bin" "$seeds"/* >"$work/replay.log" 2>&1
rc=$?
n_seeds=$(ls "$seeds" | wc -l)
n_good=$(grep -c '^kv_fuzz_stats applied=[1-9][0-9]* rejects=0$' "$work/replay.log")
if [ "$rc" -eq 0 ] && [ "$n_good" -ge "$n_seeds" ] && [ "$n_seeds" -gt 0 ]; then
	echo "ok 1 - fuzz_consumer replays $n_seeds seeds, each applying events without rejects"
else
	echo "not ok 1 - fuzz_consumer seed replay (rc $rc, $n_good of $n_seeds clean)"
	tail -20 "$work/replay.log"
fi

mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
"$bin" -max_total_time="$secs" -max_len=16384 -artifact_prefix="$work/" \
	-print_final_stats=1 "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
	echo "ok 2 - fuzz_consumer ran $execs execs without a crash"
else
	echo "not ok 2 - fuzz_consumer found a crash (rc $rc)"
	grep -A30 -E 'ERROR|==[0-9]+==' "$work/fuzz.log" | head -60
	mkdir -p build/fuzz
	cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* build/fuzz/ 2>/dev/null
	exit 1
fi
