#!/bin/bash
# End to end on arm64 KVM, emulated (issue #9; `make e2e-arm64`, not part of
# `make test`): qemu-system-aarch64 -M virt,virtualization=on,mte=on -cpu max
# (TCG) boots Debian's stock arm64 kernel at EL2, so KVM is available inside
# it; an initramfs holds busybox, build/arm64/kasan-vmm and the arm64 test
# guest, and its /init runs kasan-vmm once per entry of E2E_RUNS under that
# KVM, printing each run's console, report log and timings between markers,
# then powers off. This script then prints a summary: /dev/kvm, MTE, whether
# kasan-vmm started, the guest's TAP, the KASAN report titles, the detection
# matrix (tests/integration/kasan_matrix.py) and the timings.
#
# Nothing is installed: the kernel and busybox-static packages are fetched
# with `apt-get download` and unpacked with dpkg-deb into
# $CACHE/arm64-e2e/ (reused by later runs); the host's /boot is not touched.
#
# Environment:
#   E2E_RUNS      space-separated runs, each MODE:TESTS[:CPUS], MODE generic|tags|off,
#                 TESTS a kasan_test= value (all, or NAME,NAME...)
#                 (default "generic:all generic:all:2 tags:all:2 generic:kmalloc_uaf":
#                 with 2 vCPUs the SMP case runs, a second CPU beside the changing memslots)
#   E2E_TIMEOUT   seconds for the whole QEMU run (default 1200)
#   E2E_RUN_TIMEOUT  kasan-vmm --timeout per run (default 300)
#   E2E_VERBOSE   1 (default): KASAN_VMM_VERBOSE=1 for kasan-vmm (its MTE probe and, in
#                 tag mode, the MTE tags of trapped granules are info/debug lines); 0: quiet
#   E2E_OUT       output directory (default build/e2e-arm64)
#   QEMU          qemu-system-aarch64 binary
# Exit status: 0 if every run's guest passed (kasan-vmm exit 0) and every
# matrix check passed, 1 otherwise, 2 if a prerequisite is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
cache=${CACHE:-$HOME/.cache/kasan-vmm}/arm64-e2e
out=${E2E_OUT:-$repo/build/e2e-arm64}
runs=${E2E_RUNS:-generic:all generic:all:2 tags:all:2 generic:kmalloc_uaf}
qemu_timeout=${E2E_TIMEOUT:-1200}
run_timeout=${E2E_RUN_TIMEOUT:-300}
QEMU=${QEMU:-qemu-system-aarch64}
vmm=$repo/build/arm64/kasan-vmm
guest=$repo/build/arm64/testguest.Image
guest_map=$repo/build/arm64/testguest.map

die() {
	echo "e2e-arm64: $*" >&2
	exit 2
}

for tool in "$QEMU" apt-get apt-cache dpkg-deb cpio python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.txt: qemu-system-arm, cpio, python3)"
done
for f in "$vmm" "$guest" "$guest_map"; do
	[ -f "$f" ] || die "$f missing (make arm64)"
done
for r in $runs; do
	case $r in
	generic:?* | tags:?* | off:?*) ;;
	*) die "E2E_RUNS entry '$r' is not MODE:TESTS[:CPUS] (MODE generic, tags or off)" ;;
	esac
done

# ---- the arm64 kernel and busybox, cached by package version ----

# "pkg=version" of the arm64 kernel image the metapackage names.
kernel_package() {
	local dep ver
	dep=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9.]*-[0-9]*-arm64\(-unsigned\)\?\)\(:arm64\)\?$/\1/p' | head -1)
	if [ -z "$dep" ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		dep=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9.]*-[0-9]*-arm64\(-unsigned\)\?\)\(:arm64\)\?$/\1/p' | head -1)
	fi
	[ -n "$dep" ] || die "linux-image-arm64:arm64 names no kernel package (is arm64 in dpkg --print-foreign-architectures?)"
	ver=$(apt-cache policy "$dep:arm64" 2>/dev/null | awk '/Candidate:/ {print $2}')
	[ "${ver:-(none)}" != "(none)" ] || die "no candidate version of $dep:arm64"
	echo "$dep:arm64=$ver"
}

busybox_package() {
	local ver
	ver=$(apt-cache policy busybox-static:arm64 2>/dev/null | awk '/Candidate:/ {print $2}')
	[ "${ver:-(none)}" != "(none)" ] || die "no candidate version of busybox-static:arm64"
	echo "busybox-static:arm64=$ver"
}

# fetch PKG=VER DIR [TAR MEMBERS...]: download the .deb and unpack it into DIR
# (all of it, or only the given members: the kernel package's 3700 modules
# are not needed, KVM is built in). Done once per version (DIR/.done).
fetch() {
	local pkg=$1 dir=$2 tmp deb
	shift 2
	[ -f "$dir/.done" ] && return 0
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	chmod 777 "$tmp" # apt's download sandbox user writes here
	(cd "$tmp" && apt-get download -q "$pkg" >&2) || {
		rm -rf "$tmp"
		die "apt-get download $pkg failed"
	}
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ $# = 0 ]; then
		dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	else
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@" || die "unpacking $* of $deb failed"
	fi
	rm -rf "$tmp"
	touch "$dir/.done"
}

mkdir -p "$cache" "$out"
rm -f "$out"/run-*.out "$out"/run-*.log "$out"/matrix-*.txt "$out"/matrix-*.tap "$out"/summary.txt
kpkg=$(kernel_package)
bpkg=$(busybox_package)
kdir=$cache/$(echo "${kpkg%%:*}-${kpkg#*=}" | tr -c 'A-Za-z0-9.+_\n-' _)
bdir=$cache/$(echo "busybox-static-${bpkg#*=}" | tr -c 'A-Za-z0-9.+_\n-' _)
t_fetch=$(date +%s)
fetch "$kpkg" "$kdir" ./boot
fetch "$bpkg" "$bdir"
t_fetch=$(($(date +%s) - t_fetch))
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz" ] || die "$kpkg holds no /boot/vmlinuz-*"
[ -x "$bdir/bin/busybox" ] || die "$bpkg holds no /bin/busybox"

# QEMU's -kernel takes a plain or gzip-compressed Image. Debian's is a plain
# (signed, PE/COFF-wrapped) Image; an EFI zboot image ("zimg" at offset 4)
# carries its compressed Image at the offset and size its header gives.
kernel=$vmlinuz
if [ "$(dd if="$vmlinuz" bs=1 skip=4 count=4 status=none)" = zimg ]; then
	kernel=$kdir/Image
	if [ ! -s "$kernel" ]; then
		off=$(od -An -tu4 -j 8 -N 4 --endian=little "$vmlinuz" | tr -d ' ')
		len=$(od -An -tu4 -j 12 -N 4 --endian=little "$vmlinuz" | tr -d ' ')
		comp=$(dd if="$vmlinuz" bs=1 skip=24 count=8 status=none | tr -d '\0')
		case $comp in
		gzip) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | gzip -dc >"$kernel.tmp" ;;
		zstd) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | zstd -dc >"$kernel.tmp" ;;
		xz) tail -c +$((off + 1)) "$vmlinuz" | head -c "$len" | xz -dc >"$kernel.tmp" ;;
		*) die "$vmlinuz: EFI zboot image compressed with '$comp', not handled" ;;
		esac
		mv "$kernel.tmp" "$kernel"
	fi
fi
[ "$(dd if="$kernel" bs=1 skip=56 count=4 status=none)" = "$(printf 'ARM\x64')" ] ||
	die "$kernel is not an arm64 Image"

# ---- the initramfs ----

root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,configs/exempt}
cp "$bdir/bin/busybox" "$root/bin/busybox"
cp "$vmm" "$guest" "$guest_map" "$root/"
cp configs/exempt/testguest.txt "$root/configs/exempt/"
{
	cat <<EOF
#!/bin/busybox sh
# Generated by scripts/e2e-arm64.sh. Runs as PID 1 of the emulated arm64
# host: no 'set -e', a failed step must not end init (the kernel would panic).
E2E_RUNS="$runs"
RUN_TIMEOUT=$run_timeout
VERBOSE=${E2E_VERBOSE:-1}
EOF
	cat <<'EOF'
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
up() { cut -d' ' -f1 /proc/uptime; }
echo "E2E: init at uptime $(up) s"
echo "E2E: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs"
dmesg | grep -E 'CPU: All CPU\(s\) started at|kvm \[[0-9]+\]: .*(mode initialized|IPA Size)|detected: .*MTE' |
	sed 's/^/E2E: dmesg: /'
grep -q ' mte' /proc/cpuinfo && echo "E2E: cpu features include mte" || echo "E2E: cpu features lack mte"
if [ -c /dev/kvm ]; then
	echo "E2E: /dev/kvm present"
	n=0
	for r in $E2E_RUNS; do
		n=$((n + 1))
		mode=${r%%:*}
		rest=${r#*:}
		tests=${rest%%:*}
		cpus=1
		[ "$rest" != "$tests" ] && cpus=${rest#*:}
		log=/tmp/kasan-$n.log
		echo "E2E-RUN-BEGIN $n mode=$mode tests=$tests cpus=$cpus uptime=$(up)"
		if [ "$VERBOSE" = 1 ]; then export KASAN_VMM_VERBOSE=1; fi
		/kasan-vmm run --kernel /testguest.Image --system_map /testguest.map \
			--mode "$mode" --multi_shot on --cpus "$cpus" --memory 256 \
			--timeout "$RUN_TIMEOUT" --log "$log" --append "kasan_test=$tests" </dev/null 2>&1
		rc=$?
		echo "E2E-RUN-END $n rc=$rc uptime=$(up)"
		echo "E2E-LOG-BEGIN $n"
		cat "$log" 2>/dev/null
		echo "E2E-LOG-END $n"
	done
else
	echo "E2E: no /dev/kvm"
fi
echo "E2E: done at uptime $(up) s"
poweroff -f
EOF
} >"$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out/initramfs.cpio"

# ---- boot ----

console=$out/console.log
echo "e2e-arm64: $QEMU (TCG), kernel ${kpkg%%:*} ${kpkg#*=}, runs: $runs" >&2
echo "e2e-arm64: console in $console (timeout ${qemu_timeout} s)" >&2
t0=$(date +%s.%N)
set +e
timeout -k 10 "$qemu_timeout" nice "$QEMU" \
	-M virt,virtualization=on,gic-version=3,mte=on -cpu max -accel tcg -smp 2 -m 1024 \
	-nographic -no-reboot -kernel "$kernel" -initrd "$out/initramfs.cpio" \
	-append "console=ttyAMA0 rdinit=/init quiet loglevel=4 panic=-1" \
	</dev/null 2>&1 | tr -d '\r' >"$console"
qemu_rc=${PIPESTATUS[0]}
set -e
wall=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}')

# ---- summary ----

summary=$out/summary.txt
failed=0
{
	echo "e2e-arm64 summary ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo "host kernel: ${kpkg%%:*} ${kpkg#*=} ($(basename "$kernel")), busybox ${bpkg#*=}"
	echo "QEMU: $($QEMU --version | head -1), exit $qemu_rc$([ "$qemu_rc" = 124 ] && echo ' (timeout)'), wall ${wall} s, fetch ${t_fetch} s"
	grep '^E2E: dmesg: ' "$console" | sed 's/^E2E: dmesg: \[ *[0-9.]*\] /host kernel: /' || true
	init_up=$(sed -n 's/^E2E: init at uptime \([0-9.]*\) s$/\1/p' "$console")
	echo "host boot to /init: ${init_up:-never} s (guest uptime)"
	if grep -q '^E2E: /dev/kvm present$' "$console"; then
		echo "/dev/kvm: present"
	else
		echo "/dev/kvm: ABSENT"
		failed=1
	fi
	grep '^E2E: cpu features ' "$console" | sed 's/^E2E: /host /' || true
	mte=$(grep -m1 '^kasan-vmm: MTE: ' "$console" | sed 's/^kasan-vmm: MTE: //')
	echo "kasan-vmm MTE probe: ${mte:-not logged (E2E_VERBOSE=0?)}"
	n=0
	for r in $runs; do
		n=$((n + 1))
		sed -n "/^E2E-RUN-BEGIN $n /,/^E2E-RUN-END $n /p" "$console" >"$out/run-$n.out"
		sed -n "/^E2E-LOG-BEGIN $n\$/,/^E2E-LOG-END $n\$/p" "$console" | sed '1d;$d' >"$out/run-$n.log"
		begin=$(sed -n "s/^E2E-RUN-BEGIN $n .*uptime=\([0-9.]*\)$/\1/p" "$out/run-$n.out")
		end=$(sed -n "s/^E2E-RUN-END $n rc=[0-9]* uptime=\([0-9.]*\)$/\1/p" "$out/run-$n.out")
		rc=$(sed -n "s/^E2E-RUN-END $n rc=\([0-9]*\) .*/\1/p" "$out/run-$n.out")
		echo
		echo "run $n: $r"
		if [ -z "$begin" ]; then
			echo "  did not start"
			failed=1
			continue
		fi
		if [ -z "$end" ]; then
			echo "  did not finish (QEMU ended first)"
			rc=none
		else
			echo "  kasan-vmm exit $rc, $(echo "$end $begin" | awk '{printf "%.1f", $1 - $2}') s"
		fi
		[ "$rc" = 0 ] || failed=1
		if grep -q '^testguest: arm64, EL1' "$out/run-$n.out"; then
			echo "  kasan-vmm started the guest: yes"
		else
			echo "  kasan-vmm started the guest: NO"
		fi
		# kasan-vmm's own lines: warnings, errors, the end-of-run statistics
		# (less configs/exempt/testguest.txt's x86-only names the arm64 guest lacks,
		# and the per-access debug lines, counted below)
		grep '^kasan-vmm: ' "$out/run-$n.out" |
			grep -v -e ': no guest function ' -e ': access at IPA ' -e ': MTE tags of IPA ' |
			head -20 | sed 's/^/  /' || true
		tagged=$(grep -c '^kasan-vmm: vCPU [0-9]*: access at IPA .*guest MTE tag' "$out/run-$n.out" || true)
		[ "$tagged" = 0 ] || echo "  guest MTE tags read for $tagged trapped accesses, first:" \
			"$(grep -m1 '^kasan-vmm: vCPU [0-9]*: access at IPA .*guest MTE tag' "$out/run-$n.out" | sed 's/^kasan-vmm: //')"
		grep -m1 '^kasan-vmm: vCPU [0-9]*: MTE tags of IPA ' "$out/run-$n.out" | sed 's/^kasan-vmm: /  ! /' || true
		grep -E '^(not )?ok [0-9]+ - |^# .*: assertion failed: |^testguest: [0-9]+ tests|^testguest: (exit|panic|unexpected)' \
			"$out/run-$n.out" | sed 's/^/  /' || true
		echo "  KASAN reports ($(grep -c '^BUG: KASAN: ' "$out/run-$n.log" || true) in the log):"
		grep '^BUG: KASAN: ' "$out/run-$n.log" | sort | uniq -c | sed 's/^ */    /' || true
		if [ "${r%%:*}" != off ]; then
			matrix=$out/matrix-$n.txt
			tags=
			[ "${r%%:*}" = tags ] && tags=--tags
			if python3 tests/integration/kasan_matrix.py "$out/run-$n.out" --matrix "$matrix" \
				$tags >"$out/matrix-$n.tap" 2>&1; then
				echo "  detection matrix: all expectations met ($matrix)"
			else
				echo "  detection matrix: NOT all met ($matrix):"
				failed=1
			fi
			sed 's/^/    /' "$matrix" 2>/dev/null || true
		fi
	done
	echo
	echo "result: $([ $failed = 0 ] && echo PASS || echo FAIL)"
} >"$summary"
cat "$summary"
exit $failed
