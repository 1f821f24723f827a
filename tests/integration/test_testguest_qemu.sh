#!/bin/bash
# The test guest boots under QEMU microvm too (the benchmarks compare against
# it): CPUs from the ACPI MADT (acpi=on) and from the MP table (acpi=off),
# TAP output, test selection, and exit codes through isa-debug-exit, which
# makes QEMU exit with (guest_code << 1) | 1.
source "$(dirname "$0")/lib.sh"

QEMU=${QEMU:-qemu-system-x86_64}

# run_qemu OUT MACHINE APPEND: boots the guest with 2 vCPUs, sets $rc
run_qemu() {
	local out=$1 machine=$2 append=$3
	timeout 120 "$QEMU" -enable-kvm -M "$machine" -cpu host -m 256 -smp 2 \
		-nographic -no-reboot -kernel "$GUEST" -append "$append" \
		-device isa-debug-exit,iobase=0x501,iosize=1 >"$out" 2>&1 </dev/null
	rc=$?
}

if ! command -v "$QEMU" >/dev/null; then
	not_ok "$QEMU is installed (scripts/deps.txt lists qemu-system-x86)"
	exit 0
fi

for acpi in on off; do
	out="$TMP/all-$acpi"
	run_qemu "$out" "microvm,acpi=$acpi" "kasan_test=all"
	[ $acpi = on ] && src="ACPI MADT" || src="MP table"
	check "acpi=$acpi: guest exit code 0 (qemu $rc)" [ "$rc" = 1 ]
	check "acpi=$acpi: 2 cpus found in the $src" grep -q "^testguest: 2 cpus found ($src)" "$out"
	check "acpi=$acpi: cpus online: 2" grep -q '^testguest: cpus online: 2$' "$out"
	check "acpi=$acpi: boot_smp passes" \
		grep -q '^ok [0-9]* - boot_smp$' "$out"
	check "acpi=$acpi: no failed test case" bash -c "! grep -q '^not ok' '$out'"
	check "acpi=$acpi: plan matches the cases run" [ "$(grep -c '^ok ' "$out")" = \
		"$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out")" ]
done

run_qemu "$TMP/sel" microvm "kasan_test=boot_smp,no_such_test"
check "selection: plan 1..2" grep -q '^1\.\.2$' "$TMP/sel"
check "selection: ok 1 - boot_smp" grep -q '^ok 1 - boot_smp$' "$TMP/sel"
check "selection: unknown name is not ok 2" grep -q '^not ok 2 - no_such_test' "$TMP/sel"
check "selection: one failure gives guest exit code 1 (qemu $rc)" [ "$rc" = 3 ]

run_qemu "$TMP/none" microvm "kasan_test=none"
check "kasan_test=none: plan 1..0, exit code 0 (qemu $rc)" \
	bash -c "grep -q '^1\.\.0$' '$TMP/none' && [ $rc = 1 ]"
check "the command line is printed" grep -q '^testguest: cmdline: kasan_test=none$' "$TMP/none"
