#!/bin/bash
# The Linux guest modules (guest-driver/) build against the Debian 6.1 headers
# from the cache with no warning at all, and carry the expected modinfo.
# Built from a copy so that a concurrent build in the tree cannot interfere.
source "$(dirname "$0")/lib.sh"

kdir=$(scripts/fetch-debian-headers.sh 2>"$TMP/fetch.err")
check "Debian 6.1 headers are in the cache ($kdir)" [ -n "$kdir" -a -f "$kdir/Makefile" ]
[ -n "$kdir" ] || { sed 's/^/# /' "$TMP/fetch.err"; exit 1; }
release=${kdir##*/linux-headers-}

src=$TMP/src
mkdir -p "$src/guest-driver" "$src/paravirt"
cp guest-driver/Kbuild guest-driver/Makefile guest-driver/*.c guest-driver/*.h "$src/guest-driver/"
cp paravirt/kasan_vmm_abi.h "$src/paravirt/"
make -C "$src/guest-driver" KDIR="$kdir" >"$TMP/build.log" 2>&1
rc=$?
check "make -C guest-driver KDIR=... succeeds (rc $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/# /' "$TMP/build.log" | tail -30
check "the build prints no warning" bash -c "! grep -Ei 'warning|error' '$TMP/build.log'"
grep -Ei 'warning|error' "$TMP/build.log" | sed 's/^/# /' | head -20

modinfo_of() { # FILE: the .modinfo strings, one per line
	# objcopy replaces its output file, so it cannot write to a pipe: go through a file
	objcopy -O binary --only-section=.modinfo "$1" "$TMP/modinfo.bin" 2>/dev/null &&
		tr '\0' '\n' <"$TMP/modinfo.bin"
}
for m in kasan_vmm kasan_vmm_test; do
	ko=$src/guest-driver/$m.ko
	check "$m.ko exists" [ -s "$ko" ]
	modinfo_of "$ko" >"$TMP/$m.info"
	check "$m.ko vermagic is $release" grep -q "^vermagic=$release SMP " "$TMP/$m.info"
	check "$m.ko is named $m" grep -qx "name=$m" "$TMP/$m.info"
	check "$m.ko has a GPL-compatible license" grep -qx "license=Dual MIT/GPL" "$TMP/$m.info"
done
check "kasan_vmm_test.ko has the kasan_test parameter" \
	grep -qx "parmtype=kasan_test:charp" "$TMP/kasan_vmm_test.info"
check "kasan_vmm.ko needs no module parameter" bash -c "! grep -q '^parm' '$TMP/kasan_vmm.info'"
# Only the exported symbols of that kernel: modpost would name any other.
check "modpost found every symbol" bash -c "! grep -q 'undefined!' '$TMP/build.log'"
