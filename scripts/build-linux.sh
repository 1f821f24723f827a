#!/bin/bash
# Build the CI Linux guest: Debian's linux-source-6.1 + `make tinyconfig` +
# configs/linux/kasan-vmm.config, with kasan-vmm's guest driver, scenario
# runner and allocation workload built in. Prints the directory holding
# vmlinux, bzImage, System.map and .config.
#
#   scripts/build-linux.sh                  the CI kernel (variant ci)
#   scripts/build-linux.sh --variant kasan  the same kernel plus in-guest KASAN
#                                           and its KUnit suite
#                                           (+ configs/linux/kasan-inguest.config),
#                                           for `make bench`
#
# Everything lives under $CACHE/linux (never /boot, nothing installed):
#   linux-source-6.1_V.deb   the package (apt-get download)
#   src-V/                   the unpacked source, plus drivers/misc/kasan_vmm/
#                            (shared by the variants)
#   obj-V/, obj-V-kasan/     the O= build directories (incremental, one per variant)
#   V-HASH/, V-kasan-HASH/   the results, HASH over the fragments, the driver
#                            sources and this script: a second run with the
#                            same inputs only prints this directory.
#
# The kernel source itself is not patched: the only additions to the cached
# copy are our own driver directory and one obj-y line naming it in
# drivers/misc/Makefile (the same sources that build kasan_vmm.ko and
# kasan_vmm_test.ko, built in as guest-driver/README.md describes).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CACHE:-$HOME/.cache/kasan-vmm}/linux
jobs=${JOBS:-$(nproc)}

die() {
	echo "build-linux: $*" >&2
	exit 1
}
log() { echo "build-linux: $*" >&2; }

variant=ci
while [ $# -gt 0 ]; do
	case $1 in
	--variant)
		[ $# -ge 2 ] || die "--variant needs a value (ci or kasan)"
		variant=$2
		shift 2
		;;
	--variant=*)
		variant=${1#--variant=}
		shift
		;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	*) die "unknown argument '$1' (usage: build-linux.sh [--variant ci|kasan])" ;;
	esac
done
# Later fragments override earlier ones (merge_config.sh and the check below).
fragments=("$here/configs/linux/kasan-vmm.config")
case $variant in
ci) suffix= ;;
kasan)
	suffix=-kasan
	fragments+=("$here/configs/linux/kasan-inguest.config")
	# Its bzImage is LZ4-compressed (the fragment says why).
	command -v lz4 >/dev/null || die "variant kasan needs the lz4 program (apt-get install lz4)"
	;;
*) die "unknown variant '$variant' (ci or kasan)" ;;
esac
for f in "${fragments[@]}"; do
	[ -f "$f" ] || die "missing config fragment $f"
done

# The guest driver's sources: *.c and *.h, not the .mod.c files that an
# out-of-tree module build (make linux-modules) leaves next to them.
driver_sources() {
	local f
	for f in "$here"/guest-driver/*.c "$here"/guest-driver/*.h; do
		case $f in *.mod.c) continue ;; esac
		echo "$f"
	done
}

mkdir -p "$cache"

candidate_version() {
	local v
	v=$(apt-cache policy linux-source-6.1 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		v=$(apt-cache policy linux-source-6.1 2>/dev/null | sed -n 's/^ *Candidate: //p')
	fi
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "no linux-source-6.1 package in the apt sources"
	echo "$v"
}

# A version already unpacked wins over asking apt, so that a cached build
# needs neither the network nor apt's lists.
version=${LINUX_SOURCE_VERSION:-}
if [ -z "$version" ]; then
	version=$(ls -d "$cache"/src-* 2>/dev/null | sed -n 's|.*/src-||p' | sort -V | tail -1 || true)
	[ -n "$version" ] || version=$(candidate_version)
fi

inputs_hash() {
	{
		echo "$version $variant"
		cat "${fragments[@]}" "$0"
		for f in $(driver_sources) "$here"/paravirt/kasan_vmm_abi.h; do
			echo "== ${f##*/}"
			cat "$f"
		done
	} | sha256sum | cut -c1-12
}
hash=$(inputs_hash)
out=$cache/$version$suffix-$hash
if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ] && [ -f "$out/System.map" ]; then
	echo "$out"
	exit 0
fi

src=$cache/src-$version
obj=$cache/obj-$version$suffix

# 1. Source: the tarball inside the linux-source package, unpacked once.
if [ ! -f "$src/Makefile" ]; then
	deb=$(ls "$cache"/linux-source-6.1_"${version//:/%3a}"_all.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		log "downloading linux-source-6.1 $version"
		(cd "$cache" && apt-get download "linux-source-6.1=$version" >&2) ||
			die "apt-get download linux-source-6.1=$version failed"
		deb=$(ls "$cache"/linux-source-6.1_*_all.deb | head -1)
	fi
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/src/linux-source-6.1.tar.xz' ||
		die "no linux-source-6.1.tar.xz in $deb"
	log "unpacking the source"
	tar -xJf "$tmp/usr/src/linux-source-6.1.tar.xz" -C "$tmp"
	rm -rf "$src"
	mv "$tmp/linux-source-6.1" "$src"
	rm -rf "$tmp"
	trap - EXIT
	rm -f "$deb" # 139 MB we no longer need
fi

# 2. Our driver as drivers/misc/kasan_vmm/ (copied only when changed, so that
# make sees unchanged timestamps and rebuilds nothing).
drv=$src/drivers/misc/kasan_vmm
mkdir -p "$drv/paravirt"
sync_file() { cmp -s "$1" "$2" || cp "$1" "$2"; }
for f in $(driver_sources); do
	sync_file "$f" "$drv/${f##*/}"
done
sync_file "$here/paravirt/kasan_vmm_abi.h" "$drv/paravirt/kasan_vmm_abi.h"
cat >"$drv/Kbuild.new" <<'EOF'
# Generated by kasan-vmm scripts/build-linux.sh: guest-driver/ built in.
ccflags-y += -I$(srctree)/$(src) -Werror
obj-y += kasan_vmm_core.o kasan_vmm_ring.o kasan_vmm_hooks.o kasan_vmm_kprobes.o
obj-y += kasan_vmm_test_main.o kasan_vmm_test_slab.o kasan_vmm_test_misc.o
obj-y += kasan_vmm_test_mempool.o kasan_vmm_test_ops.o
obj-y += kasan_vmm_bench.o
EOF
sync_file "$drv/Kbuild.new" "$drv/Kbuild"
rm -f "$drv/Kbuild.new"
grep -qx 'obj-y += kasan_vmm/' "$src/drivers/misc/Makefile" ||
	echo 'obj-y += kasan_vmm/' >>"$src/drivers/misc/Makefile"

# 3. Config: tinyconfig, then the fragments in order (merge_config.sh warns
# about any fragment value Kconfig did not keep; we fail on those below).
mkdir -p "$obj"
names=$(for f in "${fragments[@]}"; do printf ' + %s' "${f#"$here"/}"; done)
log "configuring variant $variant (tinyconfig$names)"
make -s -C "$src" O="$obj" tinyconfig >&2
(cd "$src" && KCONFIG_CONFIG="$obj/.config" scripts/kconfig/merge_config.sh -m -O "$obj" \
	"$obj/.config" "${fragments[@]}" >"$obj/merge.log" 2>&1) ||
	die "merge_config.sh failed (see $obj/merge.log)"
make -s -C "$src" O="$obj" olddefconfig >&2
# Each symbol's last setting over all fragments is what must have stuck.
effective() {
	sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1 &/p; s/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 &/p' \
		"${fragments[@]}" | awk '{sym = $1; sub(/^[^ ]* /, ""); last[sym] = $0; order[sym] = NR}
		END {for (s in last) print order[s] "\t" last[s]}' | sort -n | cut -f2-
}
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qx "$line" "$obj/.config" || { log "config: $line did not stick"; missing=1; } ;;
	"# CONFIG_"*" is not set")
		sym=${line#"# "}
		sym=${sym%% *}
		! grep -q "^$sym=[ym]" "$obj/.config" || { log "config: $sym is still on"; missing=1; } ;;
	esac
done < <(effective)
[ "$missing" = 0 ] || die "the fragments do not apply cleanly to $version (variant $variant)"

# 4. Build.
log "building variant $variant: vmlinux and bzImage with -j$jobs (a few minutes)"
start=$(date +%s)
make -s -C "$src" O="$obj" -j"$jobs" vmlinux bzImage >&2 || die "kernel build failed"
log "built in $(($(date +%s) - start)) s"

mkdir -p "$out.tmp"
cp "$obj/vmlinux" "$obj/System.map" "$obj/.config" "$out.tmp/"
cp "$obj/arch/x86/boot/bzImage" "$out.tmp/bzImage"
rm -rf "$out"
mv "$out.tmp" "$out"
ln -sfn "$out" "$cache/current$suffix"
echo "$out"
