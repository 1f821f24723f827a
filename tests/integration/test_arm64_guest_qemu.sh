#!/bin/bash
# The arm64 test guest (tests/guest-arm64/) boots bare under QEMU TCG
# (-M virt, no kasan-vmm): it finds the PL011 console through the device
# tree, turns on the MMU with TBI, says it runs without kasan-vmm, runs its
# scenarios (accesses complete silently without a host) and powers off
# through PSCI SYSTEM_OFF, which ends QEMU. With -smp 2 the SMP case starts
# the second CPU through PSCI CPU_ON. A device tree with a kasan-vmm
# node whose doorbell nobody answers shows that discovery reads the node and
# that the guest carries on when REGISTER gets no answer.
source "$(dirname "$0")/lib.sh"

QEMU=${QEMU:-qemu-system-aarch64}
IMAGE=${ARM64_GUEST:-build/arm64/testguest.Image}

# run_qemu OUT CPU MEM APPEND [EXTRA...]: sets $rc (124: QEMU did not exit).
# OUT gets the console without the UART's carriage returns.
run_qemu() {
	local out=$1 cpu=$2 mem=$3 append=$4
	shift 4
	timeout 60 "$QEMU" -M virt -cpu "$cpu" -m "$mem" -nographic -no-reboot \
		-kernel "$IMAGE" -append "$append" "$@" >"$out.raw" 2>&1 </dev/null
	rc=$?
	tr -d '\r' <"$out.raw" >"$out"
}

if ! command -v "$QEMU" >/dev/null || ! command -v fdtput >/dev/null; then
	not_ok "$QEMU and fdtput are installed (scripts/deps.txt: qemu-system-arm, device-tree-compiler)"
	exit 0
fi
if [ ! -f "$IMAGE" ]; then
	not_ok "$IMAGE is built (make -f tests/guest-arm64/guest.mk)"
	exit 0
fi

check "Image header: \"ARM\\x64\" magic, text_offset 0x80000, image_size covers the file" \
	python3 - "$IMAGE" <<'EOF'
import struct, sys, os
h = open(sys.argv[1], "rb").read(64)
text_offset, image_size = struct.unpack_from("<QQ", h, 8)
sys.exit(not (h[56:60] == b"ARM\x64" and text_offset == 0x80000
              and image_size >= os.path.getsize(sys.argv[1])))
EOF

scenarios="kmalloc_oob_right kmalloc_uaf kmalloc_double_free kmalloc_oob_ldp_stp
	atomics_on_trapped_page kasan_atomics_oob"
# Expectation lines: 9 bad accesses, one "none" (atomics_on_trapped_page),
# and kasan_atomics_oob's LDADD only where the CPU has LSE (max, not the A53).
declare -A expects=([max]=12 [cortex-a53]=11)
for cpu in max cortex-a53; do
	out="$TMP/all-$cpu"
	run_qemu "$out" "$cpu" 256 "kasan_test=all"
	check "$cpu: QEMU ended by the guest's PSCI SYSTEM_OFF (rc $rc)" [ "$rc" = 0 ]
	check "$cpu: console found through the device tree (PL011)" \
		grep -q '^testguest: arm64, EL1, device tree at ' "$out"
	check "$cpu: MMU and TBI on, a tagged pointer reaches its memory" \
		grep -q '^testguest: MMU on (identity map, 4 KiB granule), TBI on: tagged pointers work$' "$out"
	check "$cpu: says it runs without kasan-vmm" \
		grep -q '^testguest: kasan-vmm not present (no kasan-vmm,paravirt node): running without it$' "$out"
	for s in $scenarios; do
		check "$cpu: $s passes" grep -q "^ok [0-9]* - $s\$" "$out"
	done
	check "$cpu: tag-only cases skip in generic mode" \
		bash -c "[ \$(grep -c '^# SKIP tag mode only$' '$out') = 2 ]"
	check "$cpu: the scenarios print their expectations (${expects[$cpu]} lines)" \
		bash -c "[ \$(grep -c '^# kasan-vmm expects: ' '$out') = ${expects[$cpu]} ]"
	check "$cpu: the SMP case skips with one CPU" \
		grep -q '^# SKIP needs a second CPU' "$out"
	check "$cpu: plan matches the cases run, none failed" \
		bash -c "! grep -q '^not ok' '$out' && [ \$(grep -c '^ok ' '$out') = \$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' '$out') ]"
	check "$cpu: no unexpected exception, exit 0" \
		bash -c "! grep -q 'unexpected exception' '$out' && grep -q '^testguest: exit 0$' '$out'"
done

# Two CPUs: the second starts with PSCI CPU_ON (MPIDR from the device tree),
# counts while the first runs atomics and allocations, and turns itself off.
run_qemu "$TMP/smp" max 256 "kasan_test=smp_trap_churn" -smp 2
check "-smp 2: smp_trap_churn starts, watches and stops the second CPU (rc $rc)" \
	bash -c "[ $rc = 0 ] && grep -q '^ok 1 - smp_trap_churn$' '$TMP/smp' && grep -q '^testguest: exit 0$' '$TMP/smp'"

run_qemu "$TMP/sel" max 128 "console=ttyAMA0 kasan_test=kmalloc_uaf,no_such_test"
check "selection: plan 1..2, ok 1 - kmalloc_uaf" \
	bash -c "grep -q '^1\.\.2$' '$TMP/sel' && grep -q '^ok 1 - kmalloc_uaf$' '$TMP/sel'"
check "selection: an unknown name is not ok, exit 1" \
	bash -c "grep -q '^not ok 2 - no_such_test' '$TMP/sel' && grep -q '^testguest: exit 1$' '$TMP/sel'"
run_qemu "$TMP/none" max 128 "kasan_test=none"
check "kasan_test=none: plan 1..0, exit 0" \
	bash -c "grep -q '^1\.\.0$' '$TMP/none' && grep -q '^testguest: exit 0$' '$TMP/none'"

# QEMU's own device tree plus a kasan-vmm node (asymm mode, events + stacks)
# whose doorbell page is plain RAM: REGISTER's status stays PENDING (0).
dtb="$TMP/virt.dtb"
node=/kasan-vmm@4f000000
"$QEMU" -M virt,dumpdtb="$dtb" -cpu max -m 256 -nographic >/dev/null 2>&1 </dev/null
fdtput -c "$dtb" $node &&
	fdtput -t s "$dtb" $node compatible kasan-vmm,paravirt &&
	fdtput -t x "$dtb" $node reg 0 0x4f000000 0 0x1000 &&
	fdtput -t x "$dtb" $node kasan-vmm,abi-version 0x10001 &&
	fdtput -t x "$dtb" $node kasan-vmm,features 3 &&
	fdtput -t x "$dtb" $node kasan-vmm,mode 0x802 &&
	fdtput -t x "$dtb" $node kasan-vmm,rings 0x160c0001
check "a device tree with a kasan-vmm node is built (fdtput)" [ $? = 0 ]
run_qemu "$TMP/node" max 256 "kasan_test=kmalloc_uaf" -dtb "$dtb"
check "kasan-vmm node: ABI, mode, doorbell and features read from the device tree" \
	grep -q '^testguest: kasan-vmm ABI 1\.1, mode asymm, doorbell 0x4f000000, features 0x3, register 0$' \
	"$TMP/node"
check "kasan-vmm node without a host: the guest carries on, exit 0 (rc $rc)" \
	bash -c "[ $rc = 0 ] && grep -q '^ok 1 - kmalloc_uaf$' '$TMP/node' && grep -q '^testguest: exit 0$' '$TMP/node'"
