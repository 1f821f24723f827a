#!/bin/bash
# Build a busybox initramfs that loads the two guest modules, for booting a
# Debian 6.1 kernel under kasan-vmm on a hardware-virtualization host:
#   guest-driver/mkinitramfs.sh OUT.cpio.gz [KASAN_TEST]
# busybox-static comes from Debian's archive (apt-get download, never
# installed); the modules must already be built (make linux-modules).
# /init loads kasan_vmm.ko, then kasan_vmm_test.ko kasan_test=$KASAN_TEST
# (default all), prints the kernel log and powers off.
set -euo pipefail

out=${1:?usage: mkinitramfs.sh OUT.cpio.gz [KASAN_TEST]}
sel=${2:-all}
here=$(cd "$(dirname "$0")" && pwd)
cache=${CACHE:-$HOME/.cache/kasan-vmm}/debian/busybox
for ko in kasan_vmm kasan_vmm_test; do
	[ -s "$here/$ko.ko" ] || { echo "mkinitramfs: build $ko.ko first (make linux-modules)" >&2; exit 1; }
done
if [ ! -x "$cache/bin/busybox" ]; then
	mkdir -p "$cache/bin"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download busybox-static >&2)
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/root"
	install -m 755 "$tmp/root/bin/busybox" "$cache/bin/busybox"
	rm -rf "$tmp"
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
cp "$cache/bin/busybox" "$root/bin/busybox"
for app in sh insmod mount dmesg poweroff sleep cat echo; do
	ln -s busybox "$root/bin/$app"
done
cp "$here/kasan_vmm.ko" "$here/kasan_vmm_test.ko" "$root/lib/modules/"
cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "initramfs: loading kasan_vmm"
insmod /lib/modules/kasan_vmm.ko || echo "initramfs: kasan_vmm did not load"
insmod /lib/modules/kasan_vmm_test.ko kasan_test=$sel
sleep 1
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$out"
echo "$out"
