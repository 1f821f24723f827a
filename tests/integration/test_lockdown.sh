#!/bin/bash
# Least privilege (issue 8): after set-up kasan-vmm runs under a seccomp
# allow-list whose forbidden calls kill the process by SIGSYS, a full run
# with reports is unaffected by it, and --user drops root (the /dev/kvm fd
# opened as root keeps working) while the guest still boots and reports.
source "$(dirname "$0")/lib.sh"

args=(run --kernel "$GUEST" --cpus 2 --timeout 300 --multi_shot on)
bugs="kasan_test=kmalloc_uaf,kmalloc_double_kzfree,kmalloc_oob_right"

# 1. a forbidden call after the filter is installed kills the process
KASAN_VMM_SECCOMP_SELFTEST=1 run_vmm "$TMP/selftest" "${args[@]}" --append kasan_test=none
check "seccomp: socket() after the filter kills kasan-vmm by SIGSYS (exit $rc = 128+31)" \
	[ "$rc" = 159 ]
check "seccomp: the forbidden call never returned" \
	bash -c "! grep -q 'socket() returned' '$TMP/selftest'"
KASAN_VMM_SECCOMP_SELFTEST=1 run_vmm "$TMP/selftest-off" "${args[@]}" --seccomp off \
	--append kasan_test=none
check "seccomp: with --seccomp off the same call is allowed (exit $rc)" [ "$rc" = 0 ]

# 2. a full run under the filter: filter mode 2 while running, reports and JSON written
# The guest lingers after its tests so /proc/<pid> is read while it runs.
linger=testguest.linger_ms=3000
"$VMM" "${args[@]}" --append "$bugs $linger" --log "$TMP/full.log" >"$TMP/full" 2>&1 </dev/null &
pid=$!
mode=""
for _ in $(seq 600); do
	if grep -q '^testguest: lingering' "$TMP/full" 2>/dev/null; then
		mode=$(sed -n 's/^Seccomp:\s*//p' /proc/$pid/status 2>/dev/null)
		break
	fi
	sleep 0.1
done
wait $pid
rc=$?
check "seccomp: the running VMM is in filter mode (Seccomp: ${mode:-?})" [ "$mode" = 2 ]
check "seccomp: a full run with reports ends normally (exit $rc)" [ "$rc" = 0 ]
n=$(grep -c '^BUG: KASAN' "$TMP/full.log")
check "seccomp: reports are written to the log ($n)" [ "$n" -ge 3 ]
check "seccomp: every JSON line parses ($(wc -l <"$TMP/full.log.jsonl") lines)" \
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/full.log.jsonl"

# 3. --user: a throwaway user in the kvm group; /dev/kvm stays root:root 0600
user=kasanvmmtest
made_group=0
if ! getent group kvm >/dev/null; then
	groupadd -r kvm && made_group=1
fi
userdel "$user" 2>/dev/null
useradd -r -M -s /usr/sbin/nologin -G kvm "$user"
cleanup_user() {
	userdel "$user" 2>/dev/null
	[ "$made_group" = 1 ] && groupdel kvm 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup_user EXIT
uid=$(id -u "$user")
chmod 755 "$TMP" # the log directory must be reachable after the drop (files are open already)
"$VMM" "${args[@]}" --user "$user" --append "$bugs $linger" --log "$TMP/user.log" \
	--console "$TMP/user.con" >"$TMP/user" 2>&1 </dev/null &
pid=$!
uids=""
groups=""
for _ in $(seq 600); do
	if grep -q '^testguest: lingering' "$TMP/user" 2>/dev/null; then
		uids=$(sed -n 's/^Uid:\s*//p' /proc/$pid/status 2>/dev/null | tr -s '\t ' ' ')
		groups=$(sed -n 's/^Groups:\s*//p' /proc/$pid/status 2>/dev/null)
		break
	fi
	sleep 0.1
done
wait $pid
rc=$?
check "--user: every uid of the running VMM is $user's ($uid): Uid: $uids" \
	[ "$uids" = "$uid $uid $uid $uid" ]
want=$(id -G "$user" | tr ' ' '\n' | sort -n | xargs)
check "--user: its groups are $user's, kvm included ($want): $groups" \
	[ "$(echo $groups | tr ' ' '\n' | sort -n | xargs)" = "$want" ]
check "--user: the guest boots and ends normally (exit $rc)" [ "$rc" = 0 ]
check "--user: reports still reach the log opened as root" \
	grep -q '^BUG: KASAN: double-free in test_kmalloc_double_kzfree' "$TMP/user.log"
run_vmm "$TMP/nouser" "${args[@]}" --user no-such-user-kasanvmm --append kasan_test=none
check "--user with an unknown user fails at set-up (exit $rc)" \
	[ "$rc" = 1 ] && grep -q 'no such user' "$TMP/nouser"
echo "1..$tap_n"
