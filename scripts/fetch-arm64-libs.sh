#!/bin/sh
# The static arm64 libraries the cross-built VMM links (libfdt.a, libelf.a,
# libz.a and their headers), from Debian's arm64 packages, unpacked into the
# cache. libfdt-dev is not Multi-Arch: same, so libfdt-dev:arm64 cannot be
# installed next to the amd64 one the x86 build needs; `apt-get download`
# plus `dpkg-deb -x` takes the same files without installing anything.
# Needs arm64 in dpkg's architectures (scripts/deps.sh adds it).
# Prints the unpacked root; a second run only prints it.
set -e
cache=${CACHE:-$HOME/.cache/kasan-vmm}
pkgs="libfdt-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64"
# One apt-cache call: "pkg=version" for each package apt has a candidate of.
versions=$(apt-cache policy $pkgs 2>/dev/null |
	awk '/^[^ ]/ {p = $1; sub(/:$/, "", p)} /Candidate:/ && $2 != "(none)" {print p "=" $2}')
if [ "$(echo "$versions" | grep -c =)" != 3 ]; then
	echo "fetch-arm64-libs: apt knows no arm64 $pkgs (run scripts/deps.sh as root:" \
		"it adds the arm64 architecture)" >&2
	exit 1
fi
versions=$(echo $versions)
dir=$cache/arm64-sysroot/$(echo "$versions" | md5sum | cut -c1-12)
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt's download sandbox user writes here
(cd "$tmp" && apt-get download -q $versions >&2)
rm -rf "$dir"
mkdir -p "$dir"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
for f in libfdt.a libelf.a libz.a; do
	[ -f "$dir/usr/lib/aarch64-linux-gnu/$f" ] || { echo "fetch-arm64-libs: no $f" >&2; exit 1; }
done
touch "$dir/.done"
echo "$dir"
