#!/bin/bash
# The Linux guest driver refuses to start without kasan-vmm: the CI kernel
# (scripts/build-linux.sh, the same one test_linux_guest.sh boots) runs under
# `kasan-vmm --mode off`, which presents no kasan-vmm CPUID leaf. The driver
# must say so and stay out, and the kernel must go on: the scenario runner
# still runs its case (nothing is watched, so nothing is reported) and the
# boot reaches its end (no init: panic=-1 reboots, which ends kasan-vmm).
source "$(dirname "$0")/lib.sh"
VMM=${LINUX_VMM:-build/kasan-vmm}
mkdir -p build/test-logs

kdir=$(scripts/build-linux.sh 2>"$TMP/build.log")
check "the CI kernel is built or reused (${kdir:-no output})" [ -s "${kdir:-/nonexistent}/vmlinux" ]
[ -s "${kdir:-/nonexistent}/vmlinux" ] || exit 0

start=$(date +%s)
run_vmm "$TMP/linux" run --mode off --kernel "$kdir/vmlinux" --system_map "$kdir/System.map" \
	--cpus 1 --memory 256 --timeout "${LINUX_GUEST_TIMEOUT:-1200}" \
	--append "console=ttyS0 kasan_test=kmalloc_oob_right slub_debug=Z panic=-1"
cp "$TMP/linux" build/test-logs/linux-nohost.txt
echo "# boot: $(($(date +%s) - start)) s, exit $rc (console: build/test-logs/linux-nohost.txt)"

check "Linux prints its banner" grep -q "Linux version 6\.1" "$TMP/linux"
check "the driver refuses: kasan-vmm hypervisor not found (no CPUID signature)" \
	grep -q 'kasan_vmm: kasan-vmm hypervisor not found (CPUID 0x[0-9a-f]* signature "KasanVMM" missing)' \
	"$TMP/linux"
check "the driver did not register" bash -c "! grep -q 'kasan_vmm: loaded' '$TMP/linux'"
check "the kernel went on: the runner ran its case after the refusal" \
	grep -q "ok 1 - kmalloc_oob_right" "$TMP/linux"
check "the runner did not use kasan-vmm's exit port" \
	bash -c "! grep -q 'powering off through kasan-vmm' '$TMP/linux'"
check "nothing was reported with the sanitizer off" bash -c "! grep -q 'BUG: KASAN' '$TMP/linux'"
check "the boot reached its end (no init, panic=-1: reboot, exit 120; got $rc)" \
	bash -c "[ $rc = 120 ] && grep -q 'Kernel panic - not syncing' '$TMP/linux'"
