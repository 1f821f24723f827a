#!/bin/bash
# Least privilege (issue 8): after set-up kasan-vmm runs under a seccomp
# allow-list whose forbidden calls kill the process by SIGSYS, a full run
# with reports is unaffected by it, and --user drops root (the /dev/kvm fd
# opened as root keeps working) while the guest still boots and reports.
source "$(dirname "$0")/lib.sh"

args=(run --kernel "$GUEST" --cpus 2 --timeout 300 --multi_shot on)
bugs="kasan_test=kmalloc_uaf,kmalloc_double_kzfree,kmalloc_oob_right"

# 1. a forbidden call after the filter is installed kills the process, in
# the release build (its own, tighter allow-list) as in the ASan build.
# 2. a full run under the filter: filter mode 2 while running, reports and JSON written.
# The guest lingers after its tests so /proc/<pid> is read while it runs.
linger=testguest.linger_ms=3000
# status_while_lingering OUT PID: /proc/PID/status to $TMP/status once OUT shows the guest lingering
status_while_lingering() {
	: >"$TMP/status"
	for _ in $(seq 600); do
		if grep -q '^testguest: lingering' "$1" 2>/dev/null; then
			cat /proc/"$2"/status >"$TMP/status" 2>/dev/null
			return
		fi
		sleep 0.1
	done
}
for vmm in "$VMM" build/kasan-vmm; do
	b=$(basename "$(dirname "$vmm")")
	KASAN_VMM_SECCOMP_SELFTEST=1 VMM=$vmm run_vmm "$TMP/selftest" "${args[@]}" --append kasan_test=none
	check "$vmm seccomp: socket() after the filter kills kasan-vmm by SIGSYS (exit $rc = 128+31)" \
		[ "$rc" = 159 ]
	check "$vmm seccomp: the self-test ran and the forbidden call never returned" \
		bash -c "grep -q 'seccomp selftest: calling socket()' '$TMP/selftest' && ! grep -q 'socket() returned' '$TMP/selftest'"
	KASAN_VMM_SECCOMP_SELFTEST=1 VMM=$vmm run_vmm "$TMP/selftest-off" "${args[@]}" --seccomp off \
		--append kasan_test=none
	check "$vmm seccomp: with --seccomp off the run is unaffected (exit $rc)" [ "$rc" = 0 ]

	"$vmm" "${args[@]}" --append "$bugs $linger" --log "$TMP/full$b.log" >"$TMP/full" 2>&1 </dev/null &
	pid=$!
	status_while_lingering "$TMP/full" $pid
	mode=$(sed -n 's/^Seccomp:\s*//p' "$TMP/status")
	wait $pid
	rc=$?
	check "$vmm seccomp: the running VMM is in filter mode (Seccomp: ${mode:-?})" [ "$mode" = 2 ]
	check "$vmm seccomp: a full run with reports ends normally (exit $rc)" [ "$rc" = 0 ]
	n=$(grep -c '^BUG: KASAN' "$TMP/full$b.log")
	check "$vmm seccomp: reports are written to the log ($n)" [ "$n" -ge 3 ]
	check "$vmm seccomp: every JSON line parses ($(wc -l <"$TMP/full$b.log.jsonl") lines)" \
		python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/full$b.log.jsonl"
done

# 3. --user: a throwaway user in the kvm group; /dev/kvm as it was (root:root 0600 here)
user=kvmtest$$ # per run: tests of other checkouts may run at the same time
made_group=0
if ! getent group kvm >/dev/null; then
	groupadd -r kvm && made_group=1
fi
useradd -r -M -s /usr/sbin/nologin -G kvm "$user"
kvm_mode=$(stat -c '%u:%g %a' /dev/kvm)
cleanup_user() {
	chown "${kvm_mode% *}" /dev/kvm
	chmod "${kvm_mode#* }" /dev/kvm
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
status_while_lingering "$TMP/user" $pid
uids=$(sed -n 's/^Uid:\s*//p' "$TMP/status" | tr -s '\t ' ' ')
groups=$(sed -n 's/^Groups:\s*//p' "$TMP/status")
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
check "--user with an unknown user fails at set-up, naming it (exit $rc)" \
	bash -c "[ $rc = 1 ] && grep -q 'no such user' '$TMP/nouser'"
# 4. no root at all: the same user starts kasan-vmm itself (no --user), the
# way README says it runs; /dev/kvm is root:kvm 0660 for this part only.
chown root:kvm /dev/kvm
chmod 0660 /dev/kvm
own=$TMP/own
mkdir "$own"
cp "$VMM" "$GUEST" "$own/" # the checkout may not be readable by that user
chown -R "$user" "$own"
setpriv --reuid="$user" --regid="$user" --init-groups \
	"$own/$(basename "$VMM")" run --kernel "$own/$(basename "$GUEST")" --cpus 2 --timeout 300 \
	--multi_shot on --append "$bugs" --log "$own/kasan.log" >"$TMP/nonroot" 2>&1 </dev/null
rc=$?
chown "${kvm_mode% *}" /dev/kvm
chmod "${kvm_mode#* }" /dev/kvm
check "non-root kvm member: kasan-vmm boots the guest and ends normally (exit $rc)" [ "$rc" = 0 ]
check "non-root kvm member: the guest printed its marker" grep -q '^testguest: cpus online: 2$' "$TMP/nonroot"
check "non-root kvm member: a report is in the log it created" \
	grep -q '^BUG: KASAN: double-free in test_kmalloc_double_kzfree' "$own/kasan.log"
check "non-root kvm member: the log belongs to $user" [ "$(stat -c %U "$own/kasan.log")" = "$user" ]
echo "1..$tap_n"
