#!/bin/bash
# The report log's rate cap (--report_rate N, README "Caps"): a guest that
# triggers reports in a burst gets at most N written per second; the rest
# are counted, and the count is summarized in the log and on stderr, so
# written + not written = every report the sanitizer made.
source "$(dirname "$0")/lib.sh"

run_vmm "$TMP/out" run --kernel "$GUEST" --cpus 1 --timeout 300 --multi_shot on \
	--append kasan_test=all --report_rate 1 --log "$TMP/k.log"
made=$(sed -n 's/^kasan-vmm: sanitizer: [0-9]* events, \([0-9]*\) reports.*/\1/p' "$TMP/out")
written=$(grep -c '^BUG: KASAN' "$TMP/k.log")
dropped=$(sed -n 's/^kasan-vmm: \([0-9]*\) report(s) not written: over the rate cap of 1 per second$/\1/p' "$TMP/k.log")
json=$(wc -l <"$TMP/k.log.jsonl")
check "the run ends normally (exit $rc)" [ "$rc" = 0 ]
check "the cap held reports back: $written of $made written" [ "$written" -lt "${made:-0}" ]
check "the log summarizes the rest: $dropped not written" [ "${dropped:-0}" -gt 0 ]
check "written $written + not written ${dropped:-?} = made ${made:-?}" \
	[ $((written + ${dropped:-0})) = "${made:-x}" ]
check "JSON lines only for written reports ($json)" [ "$json" = "$written" ]
echo "1..$tap_n"
