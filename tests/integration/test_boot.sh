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
# What only shows when the kernel is laid out in guest RAM (the Debian kernels
# from the cache) is rejected the same way: exit 2, one line, no VM.
CACHE=${CACHE:-$HOME/.cache/kasan-vmm}
bzimage=${KASAN_VMM_BZIMAGE:-$CACHE/debian/vmlinuz}
vmlinux=${KASAN_VMM_VMLINUX:-$CACHE/debian/vmlinux}
check "Debian bzImage and vmlinux are in the cache" [ -s "$bzimage" -a -s "$vmlinux" ]
: >"$TMP/empty.img"
truncate -s 300M "$TMP/huge.img"
reject "a bzImage needing more than --memory 32" run --kernel "$bzimage" --memory 32
check "  ... says how much it needs" grep -q "needs [0-9]* MiB of RAM below 3 GiB, the guest has 32 MiB" "$TMP/reject"
reject "a vmlinux with segments past --memory 16" run --kernel "$vmlinux" --memory 16
check "  ... names the segment" grep -q "segment 0 .* is not in guest RAM" "$TMP/reject"
reject "an empty initrd" run --kernel "$bzimage" --initrd "$TMP/empty.img"
check "  ... names it" grep -q "empty.img: empty file" "$TMP/reject"
reject "an initrd larger than RAM" run --kernel "$GUEST" --initrd "$TMP/huge.img" --memory 64
check "  ... says it does not fit" grep -q "huge.img: 314572800 bytes do not fit" "$TMP/reject"
