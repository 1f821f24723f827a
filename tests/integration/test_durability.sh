#!/bin/bash
# Durable reports (issue 8): a report is complete in the text log (and its
# JSON line in the sidecar) whatever happens to kasan-vmm or the guest
# right after it: kill -9 of the VMM, a guest panic, triple fault or hang.
# A second run appends to the report and console logs, never truncates.
source "$(dirname "$0")/lib.sh"

EQ='^==================================================================$'
bug=kmalloc_double_kzfree
args=(run --kernel "$GUEST" --cpus 1 --multi_shot on)

# complete LOG: every report header has its opening and closing '=' lines
complete() {
	local bugs eqs
	bugs=$(grep -c '^BUG: KASAN' "$1")
	eqs=$(grep -c "$EQ" "$1")
	[ "$bugs" -ge 1 ] && [ "$eqs" = $((2 * bugs)) ]
}
report_ok() {
	grep -q "^BUG: KASAN: double-free in test_$bug" "$1" && complete "$1"
}
json_ok() {
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$1"
}

# 1. kill -9 as soon as the first report's closing line is in the log
log=$TMP/kill.log
"$VMM" "${args[@]}" --timeout 300 --append kasan_test=all --log "$log" >"$TMP/kill" 2>&1 </dev/null &
pid=$!
for _ in $(seq 3000); do
	[ "$(cat "$log" 2>/dev/null | grep -c "$EQ")" -ge 2 ] && break
	sleep 0.01
done
kill -9 $pid
wait $pid
rc=$?
text=$(grep -c '^BUG: KASAN' "$log")
json=$(wc -l <"$log.jsonl")
check "kill -9: kasan-vmm died by SIGKILL (exit $rc)" [ "$rc" = 137 ]
check "kill -9: every report in the text log is complete ($text)" complete "$log"
check "kill -9: every JSON line parses" json_ok "$log.jsonl"
# JSON is fsync'd before the text and both before the vCPU runs on: a report
# whose closing line is in the text log has its JSON line too
check "kill -9: the sidecar has a JSON line for each logged report ($json of $text)" \
	[ "$json" = "$text" ]
check "kill -9: the sidecar ends with a complete line" [ "$(tail -c1 "$log.jsonl" | od -An -c | tr -d ' ')" = '\n' ]

# 2. the guest ends badly right after a report
for crash in panic:110 triplefault:121 hang:124; do
	how=${crash%%:*}
	want=${crash##*:}
	log=$TMP/$how.log
	run_vmm "$TMP/$how" "${args[@]}" --timeout 30 --log "$log" \
		--append "kasan_test=$bug testguest.crash_after_tests=$how"
	check "crash_after_tests=$how: exit code $want (got $rc)" [ "$rc" = "$want" ]
	check "crash_after_tests=$how: the guest did crash after the test" \
		grep -q "testguest: crashing on purpose: $how" "$TMP/$how"
	check "crash_after_tests=$how: the report is complete in the log" \
		report_ok "$log"
	check "crash_after_tests=$how: its JSON line is in the sidecar" \
		python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; assert len(l)==1 and "double-free" in json.dumps(l[0])' "$log.jsonl"
done

# 3. a second run appends to the report log, its sidecar and the console copy
log=$TMP/twice.log
for i in 1 2; do
	run_vmm "$TMP/twice$i" "${args[@]}" --timeout 60 --log "$log" --console "$TMP/twice.con" \
		--append "kasan_test=$bug"
done
check "append: both runs' reports are in the log" [ "$(grep -c '^BUG: KASAN: double-free' "$log")" = 2 ]
check "append: both runs' JSON lines are in the sidecar" [ "$(wc -l <"$log.jsonl")" = 2 ]
check "append: both runs' consoles are in the console copy" \
	[ "$(grep -c '^testguest: booting' "$TMP/twice.con")" = 2 ]
echo "1..$tap_n"
