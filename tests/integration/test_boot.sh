#!/bin/bash
# The test guest boots on the real /dev/kvm with 1 and 2 vCPUs, prints its
# marker and powers off with exit code 0; bad command lines exit 2 with one line.
source "$(dirname "$0")/lib.sh"

for cpus in 1 2; do
	run_vmm "$TMP/boot$cpus" run --kernel "$GUEST" --cpus $cpus --timeout 60 --append kasan_test=none
	check "boot with $cpus vCPU(s) exits 0 (got $rc)" [ "$rc" = 0 ]
	check "boot with $cpus vCPU(s) prints the marker" grep -q "^testguest: cpus online: $cpus\$" "$TMP/boot$cpus"
done

run_vmm "$TMP/console-run" run --kernel "$GUEST" --cpus 1 --timeout 60 --console "$TMP/console.txt"
run_vmm "$TMP/console-run2" run --kernel "$GUEST" --cpus 1 --timeout 60 --console "$TMP/console.txt"
check "console file gets the guest output, appended across runs" \
	[ "$(grep -c '^testguest: cpus online: 1' "$TMP/console.txt")" = 2 ]

# Rejections: exit 2 and exactly one line, before any VM exists.
reject() {
	local what=$1
	shift
	run_vmm "$TMP/reject" "$@"
	check "$what exits 2 (got $rc)" [ "$rc" = 2 ]
	check "$what prints one line" [ "$(wc -l <"$TMP/reject")" = 1 ]
}
reject "--cpus 0" run --kernel "$GUEST" --cpus 0
reject "--memory 1" run --kernel "$GUEST" --memory 1
reject "--kernel /etc/passwd" run --kernel /etc/passwd
reject "a missing kernel" run --kernel /nonexistent/kernel
reject "an unknown option" run --kernel "$GUEST" --frobnicate
