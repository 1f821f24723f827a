#!/bin/bash
# The cross-built arm64 VMM (make arm64): a static aarch64 executable with the
# expected entry points; run under qemu-user (no KVM needed) its command line,
# Image checks and device tree generator work, and dtc accepts the tree.
. "$(dirname "$0")/lib.sh"
A64=build/arm64/kasan-vmm
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)

check "make arm64 built $A64" test -x "$A64"
hdr=$(readelf -h "$A64" 2>&1)
check "ELF64 for AArch64" grep -q 'Machine:.*AArch64' <<<"$hdr"
check "an executable (not a shared object)" grep -q 'Type:.*EXEC' <<<"$hdr"
check "statically linked: no program interpreter" \
	bash -c "! readelf -l '$A64' | grep -q 'program interpreter'"
check "statically linked: no dynamic section" \
	bash -c "readelf -d '$A64' | grep -q 'no dynamic section'"

syms=$(nm "$A64" 2>/dev/null)
for f in main arm64_vm_create arm64_gic_create arm64_vcpu_create arm64_handle_mmio \
	arm64_handle_nisv arm64_mte_enable arm64_mte_sync_page a64_fdt_build a64_image_parse \
	a64_nisv_emulate a64_stage2_arm a64_san_judge kv_consumer_doorbell \
	sanitizer_check_access uart_io fdt_create; do
	check "entry point $f is linked in" grep -qw "T $f" <<<"$syms"
done

if [ -z "$QEMU" ]; then
	not_ok "qemu-user for aarch64 is installed (scripts/deps.txt: qemu-user-static)"
	exit 0
fi
run_a64() { # OUT ARGS...: run the arm64 binary under qemu-user, sets $rc
	local out=$1
	shift
	"$QEMU" "$A64" "$@" >"$out" 2>&1 </dev/null
	rc=$?
}

run_a64 "$TMP/help" --help
check "--help exits 0" test "$rc" = 0
check "--help lists run, dump-dtb and --kernel" \
	bash -c "grep -q 'kasan-vmm run --kernel' '$TMP/help' && grep -q 'dump-dtb' '$TMP/help'"

# The device tree a 4-vCPU, 512 MiB tag-mode run would get.
run_a64 "$TMP/dump" dump-dtb -o "$TMP/t.dtb" --cpus 4 --memory 512 --mode tags \
	--append "console=ttyS0 earlycon"
check "dump-dtb exits 0" test "$rc" = 0
dtc -I dtb -O dts -o "$TMP/t.dts" "$TMP/t.dtb" 2>"$TMP/dtc.err"
check "dtc reads the arm64 binary's device tree" test $? = 0
check "dtc prints no warnings" test ! -s "$TMP/dtc.err"
for want in 'compatible = "linux,dummy-virt";' 'memory@40000000 {' \
	'reg = <0x00 0x40000000 0x00 0x20000000>;' 'cpu@3 {' 'enable-method = "psci";' \
	'method = "hvc";' 'compatible = "arm,gic-v3";' 'compatible = "arm,armv8-timer";' \
	'serial@9001000 {' 'compatible = "ns16550a";' 'kasan-vmm@9000000 {' \
	'compatible = "kasan-vmm,paravirt";' 'kasan-vmm,features = <0x07>;' \
	'bootargs = "console=ttyS0 earlycon";' 'stdout-path = "/serial@9001000";'; do
	check "device tree has: $want" grep -qF "$want" "$TMP/t.dts"
done
check "4 vCPUs, not 5" bash -c "! grep -q 'cpu@4 {' '$TMP/t.dts'"
run_a64 "$TMP/dump-off" dump-dtb -o "$TMP/off.dtb" --mode off
dtc -I dtb -O dts "$TMP/off.dtb" 2>/dev/null >"$TMP/off.dts"
check "--mode off: no kasan-vmm node" bash -c "! grep -q kasan-vmm '$TMP/off.dts'"

# Bad input: exit 2 with one line, before any VM (or /dev/kvm) is touched.
python3 - "$TMP" <<'PY'
import struct, sys
d = sys.argv[1]
def image(name, text_offset, image_size, flags, magic=0x644D5241, body=4096):
    hdr = struct.pack('<IIQQQQQQII', 0x14000010, 0, text_offset, image_size, flags, 0, 0, 0, magic, 0)
    open(f'{d}/{name}', 'wb').write(hdr + bytes(body))
image('good.Image', 0, 1 << 20, 0xa)
image('bad-magic.Image', 0, 1 << 20, 0xa, magic=0x12345678)
image('be.Image', 0, 1 << 20, 0xb)
image('huge.Image', 0, 1 << 40, 0xa)
PY
truncate -s 300M "$TMP/big.initrd"
expect_usage() { # DESCRIPTION PATTERN ARGS...
	local what=$1 pat=$2
	shift 2
	run_a64 "$TMP/bad" run "$@"
	check "$what: exit 2" test "$rc" = 2
	check "$what: says $pat" grep -q -- "$pat" "$TMP/bad"
	check "$what: one line" test "$(wc -l <"$TMP/bad")" = 1
}
expect_usage "no --kernel" "--kernel is required"
expect_usage "--cpus 0" "--cpus" --kernel "$TMP/good.Image" --cpus 0
expect_usage "--mode bogus" "generic|tags|off" --kernel "$TMP/good.Image" --mode bogus
expect_usage "unknown option" "unknown option" --kernel "$TMP/good.Image" --frobnicate 1
expect_usage "missing kernel file" "cannot read" --kernel "$TMP/nonexistent"
expect_usage "not an Image" "not an arm64 Image" --kernel "$TMP/bad-magic.Image"
expect_usage "big-endian Image" "big-endian" --kernel "$TMP/be.Image"
expect_usage "kernel larger than RAM" "does not fit" --kernel "$TMP/huge.Image"
expect_usage "initrd larger than RAM" "initrd" --kernel "$TMP/good.Image" \
	--initrd "$TMP/big.initrd" --memory 256

# A good Image passes every check and stops at KVM (qemu-user has no arm64 KVM).
run_a64 "$TMP/kvm" run --kernel "$TMP/good.Image" --timeout 5
check "a good Image gets as far as /dev/kvm (exit 1)" test "$rc" = 1
check "and the failure names /dev/kvm" grep -q '/dev/kvm' "$TMP/kvm"
