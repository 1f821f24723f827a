#!/bin/bash
# Fetch the Debian 6.1 kernel headers that match the kernel fetched by
# fetch-debian-kernel.sh (the linux-image-6.1.0-N-amd64 that linux-image-amd64
# depends on) into $CACHE/debian/headers without installing them, and make the
# tree usable from there:
#   make -C "$(scripts/fetch-debian-headers.sh)" M=$PWD/guest-driver modules
# Idempotent: prints the kbuild directory at once when it is already there.
set -euo pipefail

cache=${CACHE:-$HOME/.cache/kasan-vmm}/debian
root=$cache/headers

die() {
	echo "fetch-debian-headers: $*" >&2
	exit 1
}

# linux-image-6.1.0-N-amd64 -> 6.1.0-N (same resolution as fetch-debian-kernel.sh).
find_abi() {
	local dep
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -1)
	if [ -z "$dep" ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -1)
	fi
	[ -n "$dep" ] || die "linux-image-amd64 does not depend on a linux-image-6.1.0-*-amd64 package"
	echo "$dep"
}

# The cache answers without apt when exactly one tree is complete (the stamp
# is written last, so an interrupted fetch is redone).
cached=$(ls -d "$root"/usr/src/linux-headers-6.1.0-*-amd64/.kasan-vmm-ok 2>/dev/null || true)
if [ -n "$cached" ] && [ "$(echo "$cached" | wc -l)" -eq 1 ]; then
	dirname "$cached"
	exit 0
fi

abi=$(find_abi)
kdir=$root/usr/src/linux-headers-$abi-amd64
common=$root/usr/src/linux-headers-$abi-common
mkdir -p "$root"
tmp=$(mktemp -d "$cache/.headers.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$tmp'" EXIT
(cd "$tmp" && apt-get download "linux-headers-$abi-amd64" "linux-headers-$abi-common" \
	linux-kbuild-6.1 >&2 2>/dev/null) || die "apt-get download of the $abi headers failed"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
done
[ -f "$kdir/Makefile" ] && [ -d "$common/include" ] || die "headers for $abi not found after extraction"

# The packages' own links are relative (scripts -> ../../lib/linux-kbuild-6.1/...)
# and stay inside $root; only the arch Makefile includes the common tree by an
# absolute path, and lib/modules/*/{build,source} point at /usr/src.
sed -i "s|^include /usr/src/linux-headers-$abi-common/Makefile\$|include $common/Makefile|" \
	"$kdir/Makefile"
grep -q "^include $common/Makefile\$" "$kdir/Makefile" || die "unexpected $kdir/Makefile"
ln -sfn "$kdir" "$root/lib/modules/$abi-amd64/build"
ln -sfn "$common" "$root/lib/modules/$abi-amd64/source"
[ -x "$kdir/scripts/basic/fixdep" ] || [ -x "$root/usr/lib/linux-kbuild-6.1/scripts/basic/fixdep" ] ||
	die "linux-kbuild-6.1 has no scripts/basic/fixdep"
command -v gcc-12 >/dev/null || die "gcc-12 (the Debian 6.1 kernel's compiler) is not installed"

touch "$kdir/.kasan-vmm-ok"
rm -rf "$tmp"
trap - EXIT
echo "$kdir"
