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

# 1. kill -9 as soon as a report's closing line is in the log: (a) one
# report, the guest lingering after it: its JSON line is there too; (b) all
# scenarios, killed after the first report while later ones are written:
# JSON is fsync'd before the text and both before the vCPU runs on, so a
# report the text log has is in the sidecar, and at most the report being
# written when the kill came is in the sidecar only.
kill_after_report() { # NAME APPEND: sets text, json
	local log=$TMP/$1.log pid
	"$VMM" "${args[@]}" --timeout 300 --append "$2" --log "$log" >"$TMP/$1" 2>&1 </dev/null &
	pid=$!
	# a tight poll: the kill lands well within an fsync of the closing line
	python3 - "$log" $pid <<'PY'
import os, signal, sys, time
path, pid, eq = sys.argv[1], int(sys.argv[2]), "=" * 66 + "\n"
end = time.time() + 300
while time.time() < end:
    try:
        with open(path) as f:
            if f.read().count(eq) >= 2:
                break
    except FileNotFoundError:
        pass
    time.sleep(0.0002)
os.kill(pid, signal.SIGKILL)
PY
	wait $pid 2>/dev/null
	rc=$?
	text=$(grep -c '^BUG: KASAN' "$log")
	json=$(wc -l <"$log.jsonl")
	check "kill -9 $1: kasan-vmm died by SIGKILL (exit $rc)" [ "$rc" = 137 ]
	check "kill -9 $1: every report in the text log is complete ($text)" complete "$log"
	check "kill -9 $1: every JSON line parses" json_ok "$log.jsonl"
	check "kill -9 $1: the sidecar ends with a complete line" \
		[ "$(tail -c1 "$log.jsonl" | od -An -c | tr -d ' ')" = '\n' ]
}
kill_after_report one "kasan_test=$bug testguest.linger_ms=3000"
check "kill -9 one: the report is in the text log and the sidecar ($text, $json)" \
	[ "$text" = 1 -a "$json" = 1 ]
kill_after_report all kasan_test=all
check "kill -9 all: a JSON line for each logged report, at most one ahead ($json of $text)" \
	[ "$json" -ge "$text" -a "$json" -le $((text + 1)) ]

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
