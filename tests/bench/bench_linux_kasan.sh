#!/bin/bash
# make bench (issue 6): Linux's own KASAN against kasan-vmm, on the same
# Debian linux-source-6.1 built twice by scripts/build-linux.sh:
#   plain  the CI kernel (no KASAN; kasan_vmm driver, scenario runner and the
#          allocation workload built in), booted as vmlinux (PVH)
#   kasan  the same plus configs/linux/kasan-inguest.config (generic inline
#          KASAN, KUnit and the KASAN KUnit suite), booted as bzImage (6.1's
#          PVH entry cannot run KASAN code, see the fragment)
# and prints, from runs made in this invocation:
#   1. detection, side by side: every case of 6.1's KASAN KUnit suite as
#      in-guest KASAN ran it (kasan kernel, sanitizer off, KUnit executor at
#      boot) next to kasan-vmm's verdict for the same case on the plain
#      kernel (kasan_test=all slub_debug=Z, tests/integration/kasan_matrix.py);
#   2. the allocation workload (guest-driver/kasan_vmm_bench.c,
#      kasan_vmm_bench=alloc:ROUNDS) timed in the guest with ktime, on the
#      plain kernel with the sanitizer off, with slub_debug=Z (the red zones
#      kasan-vmm is run with), under the kasan-vmm sanitizer, and on the KASAN
#      kernel with the sanitizer off, as ratios against the plain kernel; the
#      host's wall time between the workload's first and last console line is
#      printed next to it as a cross-check of the guest clock.
# The KASAN kernel runs the workload and then its KUnit suite in one boot
# (`,continue`, kunit_shutdown=reboot): on an emulating host that boot alone
# takes tens of minutes. A step that fails says what failed (exit code and
# its meaning, kasan-vmm's last message, the last guest line); the rest is
# still measured. Consoles are kept in build/bench/linux-kasan/.
#
#   BENCH_LINUX_ROUNDS         workload rounds (default 40; a round is 260 ops)
#   BENCH_LINUX_REPEAT         boots per workload configuration, median taken (default 1)
#   BENCH_LINUX_CPUS           vCPUs (default 2); BENCH_LINUX_MEMORY MiB (default 256)
#   BENCH_LINUX_TIMEOUT        seconds per plain-kernel boot (default 1800)
#   BENCH_LINUX_KASAN_TIMEOUT  seconds per KASAN-kernel boot (default 10800)
#   BENCH_LINUX_VMM            kasan-vmm binary (default build/kasan-vmm)
#   BENCH_LINUX_ONLY           all (default), plain or kasan: boot only that kernel (the
#                              KASAN kernel's boot alone takes an hour or more on kvm_pvm)
set -euo pipefail
cd "$(dirname "$0")/../.."

VMM=${BENCH_LINUX_VMM:-build/kasan-vmm}
ONLY=${BENCH_LINUX_ONLY:-all}
ROUNDS=${BENCH_LINUX_ROUNDS:-40}
REPEAT=${BENCH_LINUX_REPEAT:-1}
CPUS=${BENCH_LINUX_CPUS:-2}
MEM=${BENCH_LINUX_MEMORY:-256}
TIMEOUT=${BENCH_LINUX_TIMEOUT:-1800}
KASAN_TIMEOUT=${BENCH_LINUX_KASAN_TIMEOUT:-10800}
out=build/bench/linux-kasan
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.log "$out"/*.jsonl

say() { echo "bench_linux_kasan: $*"; }
die() {
	echo "bench_linux_kasan: $*" >&2
	exit 1
}
for v in ROUNDS REPEAT CPUS MEM TIMEOUT KASAN_TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_LINUX_$v must be a positive integer (got '${!v}')"
done
[ -x "$VMM" ] || die "$VMM is not built (make)"
case $ONLY in all | plain | kasan) ;; *) die "BENCH_LINUX_ONLY must be all, plain or kasan (got '$ONLY')" ;; esac

# shellcheck source=tests/bench/host_kind.sh
. tests/bench/host_kind.sh
say "host $host, $(nproc) cores; guests: $CPUS vCPUs, $MEM MiB; workload alloc:$ROUNDS x $REPEAT"
case $host in
kvm_pvm*)
	echo "note: this host emulates guest kernel code (~370 ns per CPL0 instruction) and an exit or"
	echo "      trap costs ~10 us: guest times and ratios here are not those of a hardware-"
	echo "      virtualization host, where compiled-in KASAN checks run at native speed."
	;;
esac

# What a kasan-vmm exit code means (README, Exit codes).
exit_meaning() {
	case $1 in
	0) echo "the guest powered off through kasan-vmm's exit port" ;;
	1) echo "set-up or host failure, or the guest's exit code 1" ;;
	2) echo "bad command line or input, or the guest's exit code 2" ;;
	120) echo "the guest rebooted" ;;
	121) echo "triple fault" ;;
	122) echo "KVM could not emulate an instruction" ;;
	123) echo "an exit reason kasan-vmm does not handle" ;;
	124) echo "--timeout elapsed" ;;
	125) echo "fault=panic stopped the guest" ;;
	*) if [ "$1" -le 119 ]; then echo "the guest powered off with code $1"; else echo "exit $1"; fi ;;
	esac
}

# What went wrong in a run: its exit, kasan-vmm's last messages, the last guest line.
explain() { # FILE RC
	local f=$1 rc=$2
	echo "    exit $rc: $(exit_meaning "$rc")"
	grep '^kasan-vmm' "$f" | tail -3 | sed 's/^/    /' || true
	echo "    last guest line: $(grep -a '^\[ *[0-9]' "$f" | tail -1 || true)"
	echo "    (console: $f)"
}

# 1. Kernels.
kernel() { # VARIANT: prints the kernel directory, or nothing
	local log=$out/build-$1.log t0=$SECONDS dir
	if dir=$(JOBS=${JOBS:-2} nice -n 10 scripts/build-linux.sh --variant "$1" 2>"$log"); then
		say "kernel $1: $dir ($((SECONDS - t0)) s)" >&2
		echo "$dir"
	else
		say "kernel $1: BUILD FAILED after $((SECONDS - t0)) s; the last lines of $log:" >&2
		tail -15 "$log" | sed 's/^/    /' >&2
	fi
}
plain='' kasan=''
[ "$ONLY" = kasan ] || plain=$(kernel ci)
[ "$ONLY" = plain ] || kasan=$(kernel kasan)

# Copies stdin to FILE and, with the host's seconds since start, to FILE.stamps.
stamp() {
	python3 -c '
import sys, time
t0 = time.monotonic()
with open(sys.argv[1], "wb", 0) as raw, open(sys.argv[1] + ".stamps", "wb", 0) as st:
    for line in sys.stdin.buffer:
        raw.write(line)
        st.write(b"%.3f\t" % (time.monotonic() - t0) + line)
' "$1"
}

# boot NAME IMAGE MODE TIMEOUT APPEND...: one kasan-vmm run; console and
# messages in $out/NAME.txt (+ .stamps); sets brc (exit code), bsecs (wall s).
boot() {
	local name=$1 image=$2 mode=$3 timeout=$4 t0=$SECONDS
	shift 4
	set +e
	"$VMM" run --kernel "$image" --system_map "$(dirname "$image")/System.map" --cpus "$CPUS" \
		--memory "$MEM" --timeout "$timeout" --mode "$mode" --multi_shot on \
		--log "$out/$name.kasan.log" --append "console=ttyS0 panic=-1 $*" 2>&1 </dev/null |
		stamp "$out/$name.txt"
	brc=${PIPESTATUS[0]}
	set -e
	bsecs=$((SECONDS - t0))
}

# The workload's result in a console: "OPS NS WALL_S", or nothing.
workload_result() { # NAME
	local f=$out/$1.txt got t1 t2
	got=$(sed -n 's/.*kasan_vmm_bench: alloc \([0-9]*\) ops in \([0-9]*\) ns.*/\1 \2/p' "$f" | tail -1)
	[ -n "$got" ] || return 0
	t1=$(grep -a 'kasan_vmm_bench: alloc: ' "$f.stamps" | tail -1 | cut -f1)
	t2=$(grep -a 'kasan_vmm_bench: alloc [0-9]* ops in' "$f.stamps" | tail -1 | cut -f1)
	echo "$got $(awk "BEGIN {printf \"%.2f\", ${t2:-0} - ${t1:-0}}")"
}

configs=(plain-off plain-slubZ plain-sanitizer kasan-off)
declare -A desc image mode extra want ns ops wall
desc[plain-off]="plain kernel, sanitizer off"
desc[plain-slubZ]="plain kernel + slub_debug=Z, sanitizer off"
desc[plain-sanitizer]="plain kernel + slub_debug=Z, kasan-vmm sanitizer"
desc[kasan-off]="KASAN kernel (generic, inline), sanitizer off"
for c in plain-off plain-slubZ plain-sanitizer; do image[$c]=${plain:+$plain/vmlinux}; done
image[kasan-off]=${kasan:+$kasan/bzImage}
mode[plain-off]=off mode[plain-slubZ]=off mode[plain-sanitizer]=generic mode[kasan-off]=off
extra[plain-off]='' extra[plain-slubZ]=slub_debug=Z extra[plain-sanitizer]=slub_debug=Z extra[kasan-off]=''
# --mode off: no kasan-vmm signature, the workload ends the boot with a reboot
# (120); under the sanitizer it leaves through the exit port (0).
want[plain-off]=120 want[plain-slubZ]=120 want[plain-sanitizer]=0 want[kasan-off]=120

record() { # CONFIG NAME RUN: the workload result of one boot
	local c=$1 name=$2 r=$3 res reports o n w
	res=$(workload_result "$name")
	if [ -n "$res" ] && [ "$brc" = "${want[$c]}" ]; then
		read -r o n w <<<"$res"
		ops[$c]="${ops[$c]:-}$o "
		ns[$c]="${ns[$c]:-}$n "
		wall[$c]="${wall[$c]:-}$w "
		# reports (kasan-vmm's or the guest's) up to the workload's result: none expected
		reports=$(awk '/kasan_vmm_bench: alloc [0-9]+ ops in/ {exit} /BUG: KASAN:/ {n++} END {print n + 0}' \
			"$out/$name.txt")
		say "  $c run $r: $o ops, $(awk "BEGIN {printf \"%.2f\", $n / 1e9}") s guest time, $w s host wall ($bsecs s boot to exit, exit $brc, $reports KASAN reports by then)"
	else
		say "  $c run $r FAILED (${desc[$c]}; $bsecs s):"
		[ -n "$res" ] || echo "    no 'kasan_vmm_bench: alloc N ops in T ns' line"
		[ "$brc" = "${want[$c]}" ] || echo "    expected exit ${want[$c]} ($(exit_meaning "${want[$c]}"))"
		explain "$out/$name.txt" "$brc"
	fi
}

# 2. The KASAN kernel, sanitizer off: workload, then the KUnit suite (first
# boot); further boots for BENCH_LINUX_REPEAT run the workload only.
echo
kunit_file=''
if [ -n "$kasan" ]; then
	say "booting the KASAN kernel: workload then KUnit's kasan suite (sanitizer off; slow here)"
	boot kasan-1 "${image[kasan-off]}" off "$KASAN_TIMEOUT" init_on_alloc=0 kasan_vmm_start=late \
		"kasan_vmm_bench=alloc:$ROUNDS,continue" kunit.filter_glob=kasan kunit_shutdown=reboot
	record kasan-off kasan-1 1
	if grep -qaE "^(\[ *[0-9.]*\] )?(not )?ok [0-9]+ (- )?kasan([^_a-z0-9]|$)" "$out/kasan-1.txt"; then
		say "  KUnit kasan suite done: $bsecs s boot to exit, exit $brc"
		kunit_file=$out/kasan-1.txt
	else
		say "  KUnit kasan suite FAILED: no KTAP result line for the suite ($bsecs s)"
		explain "$out/kasan-1.txt" "$brc"
		grep -qa "# Subtest: kasan" "$out/kasan-1.txt" && kunit_file=$out/kasan-1.txt # partial
	fi
	for r in $(seq 2 "$REPEAT"); do
		boot "kasan-$r" "${image[kasan-off]}" off "$KASAN_TIMEOUT" init_on_alloc=0 \
			kasan_vmm_start=late "kasan_vmm_bench=alloc:$ROUNDS"
		record kasan-off "kasan-$r" "$r"
	done
else
	say "KASAN kernel: not run ($( [ "$ONLY" = plain ] && echo "BENCH_LINUX_ONLY=plain" || echo "it did not build"))"
fi

# 3. The plain kernel: the workload three ways, then the scenarios under kasan-vmm.
plain_file='' matrix=''
if [ -n "$plain" ]; then
	say "booting the plain kernel: workload (sanitizer off, slub_debug=Z, sanitizer on)"
	for r in $(seq 1 "$REPEAT"); do
		for c in plain-off plain-slubZ plain-sanitizer; do
			# shellcheck disable=SC2086 # extra is a word list
			boot "$c-$r" "${image[$c]}" "${mode[$c]}" "$TIMEOUT" init_on_alloc=0 \
				kasan_vmm_start=late ${extra[$c]} "kasan_vmm_bench=alloc:$ROUNDS"
			record "$c" "$c-$r" "$r"
		done
	done
	say "booting the plain kernel: kasan_test=all slub_debug=Z under the kasan-vmm sanitizer"
	boot scenarios "$plain/vmlinux" generic "$TIMEOUT" kasan_test=all slub_debug=Z \
		init_on_alloc=0 kasan_vmm_start=late
	if grep -qa "kasan_vmm_test: done, powering off" "$out/scenarios.txt" && [ "$brc" -le 119 ]; then
		say "  scenarios done: $bsecs s boot to exit, exit $brc (the runner's failed cases)"
		plain_file=$out/scenarios.txt
		matrix=$out/kasan-matrix-linux.txt
		python3 tests/integration/kasan_matrix.py "$plain_file" --matrix "$matrix" \
			--func-prefix "" >"$out/matrix-tap.txt" || true
	else
		say "  scenarios FAILED ($bsecs s)"
		explain "$out/scenarios.txt" "$brc"
	fi
else
	say "plain kernel: not run ($( [ "$ONLY" = kasan ] && echo "BENCH_LINUX_ONLY=kasan" || echo "it did not build"))"
fi

# 4. Results.
echo
say "detection: Linux 6.1's KASAN KUnit suite in the guest vs kasan-vmm on the plain kernel"
python3 tests/bench/linux_kasan_table.py ${kunit_file:+--kunit "$kunit_file"} \
	${plain_file:+--plain "$plain_file"} ${matrix:+--matrix "$matrix"} | tee "$out/table.txt"

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
echo
say "workload kasan_vmm_bench=alloc:$ROUNDS (median of $REPEAT boot(s) each)"
printf '%-50s %8s %12s %9s %12s\n' configuration ops "guest time s" "vs plain" "host wall s"
base=$(echo "${ns[plain-off]:-}" | median)
headline=
for c in "${configs[@]}"; do
	m=$(echo "${ns[$c]:-}" | median)
	if [ -z "$m" ]; then
		if [ -z "${image[$c]}" ]; then why="not run: no kernel"; else why="FAILED (above)"; fi
		printf '%-50s %8s %12s %9s %12s\n' "${desc[$c]}" - - "$why" -
		headline="$headline $c n/a"
		continue
	fi
	n=$(echo "${ops[$c]}" | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ')
	[ "$(echo "$n" | wc -w)" = 1 ] || echo "warning: $c did a different number of ops across runs: $n"
	if [ -n "$base" ]; then
		ratio=$(awk "BEGIN {printf \"%.2f\", $m / $base}")
		headline="$headline $c x$ratio"
	else
		ratio="n/a"
		headline="$headline $c $(awk "BEGIN {printf \"%.1f\", $m / 1e9}")s"
	fi
	printf '%-50s %8s %12s %9s %12s\n' "${desc[$c]}" "${n% }" \
		"$(awk "BEGIN {printf \"%.2f\", $m / 1e9}")" "$ratio" "$(echo "${wall[$c]}" | median)"
done
[ -n "${ns[plain-off]:-}" ] || echo "no ratios: the plain kernel's sanitizer-off run did not measure"
echo "(host: $host)"

det=$(sed -n 's/^bench_linux_kasan: detection: //p' "$out/table.txt")
kunit_ok=$(echo "$det" | sed -n 's/.*(KUnit): \([0-9]*\) ok.* of \([0-9]*\) cases.*/\1\/\2/p')
vmm_ok=$(echo "$det" | sed -n 's/.*plain kernel: \([0-9]*\) ok.*of the same \([0-9]*\).*/\1\/\2/p')
echo "bench_linux_kasan: KUnit ok ${kunit_ok:-n/a}, kasan-vmm ok ${vmm_ok:-n/a}; alloc guest time vs plain:$headline"
# Failed steps are reported above; the bench fails only if nothing was measured.
[ -n "$kunit_file$plain_file${ns[plain-off]:-}${ns[kasan-off]:-}" ]
