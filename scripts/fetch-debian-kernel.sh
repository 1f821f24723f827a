#!/bin/bash
# Fetch the stock Debian 6.1 kernel (the one linux-image-amd64 depends on) into
# $CACHE/debian without installing it: vmlinuz is the bzImage, vmlinux the
# uncompressed ELF found inside it. Idempotent; prints the two paths.
set -euo pipefail

cache=${CACHE:-$HOME/.cache/kasan-vmm}/debian
vmlinuz=$cache/vmlinuz
vmlinux=$cache/vmlinux

die() {
	echo "fetch-debian-kernel: $*" >&2
	exit 1
}

# Read an unsigned little-endian integer of $3 bytes at offset $2 of file $1.
read_le() {
	od -An -tu"$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '
}

find_package() {
	local dep
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
	if [ -z "$dep" ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$dep" ] || die "linux-image-amd64 does not depend on a linux-image-6.1.0-*-amd64 package"
	echo "$dep"
}

fetch_vmlinuz() {
	local pkg tmp deb img
	pkg=$(find_package)
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	(cd "$tmp" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || die "no .deb downloaded for $pkg"
	dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
	img=$(ls "$tmp"/root/boot/vmlinuz-* 2>/dev/null | head -1)
	[ -n "$img" ] || die "$pkg contains no /boot/vmlinuz-*"
	cp "$img" "$vmlinuz.tmp"
	mv "$vmlinuz.tmp" "$vmlinuz"
	rm -rf "$tmp"
	trap - EXIT
}

# The compressed payload sits at setup size + payload_offset (header 0x248)
# with payload_length bytes (0x24c); its first bytes say how it is compressed.
extract_vmlinux() {
	local setup_sects setup off len magic tmp
	[ "$(dd if="$vmlinuz" bs=1 skip=514 count=4 status=none)" = HdrS ] ||
		die "$vmlinuz is not a bzImage"
	setup_sects=$(read_le "$vmlinuz" 497 1)
	[ "$setup_sects" -eq 0 ] && setup_sects=4
	setup=$(((setup_sects + 1) * 512))
	off=$((setup + $(read_le "$vmlinuz" 584 4)))
	len=$(read_le "$vmlinuz" 588 4)
	tmp=$vmlinux.tmp
	magic=$(od -An -tx1 -j "$off" -N 6 "$vmlinuz" | tr -d ' ')
	case $magic in
	fd377a585a00*) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | xz -dc >"$tmp" 2>/dev/null || true ;;
	28b52ffd*) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | zstd -dc >"$tmp" 2>/dev/null || true ;;
	1f8b*) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | gzip -dc >"$tmp" 2>/dev/null || true ;;
	*) die "unknown payload compression (magic $magic)" ;;
	esac
	[ "$(od -An -c -N 4 "$tmp" | tr -d ' ')" = '177ELF' ] ||
		die "payload of $vmlinuz did not decompress to an ELF"
	mv "$tmp" "$vmlinux"
}

mkdir -p "$cache"
[ -s "$vmlinuz" ] || fetch_vmlinuz
[ -s "$vmlinux" ] || extract_vmlinux
echo "$vmlinuz"
echo "$vmlinux"
