#!/bin/bash
# Hostile-guest flood (issue 8): peak RSS of kasan-vmm (release build) while
# CPU 1 writes BENCH_FLOOD_RECORDS (default 100000) garbage records into its
# ring and CPU 0 runs bug scenarios, against the same run without the flood
# and against the host memory of the guest-fed caps that the run prints
# (README "Caps"). Fails only if the flood raises peak RSS above the caps or
# kasan-vmm does not stay up.
set -u
cd "$(dirname "$0")/../.." || exit 1
vmm=build/kasan-vmm
records=${BENCH_FLOOD_RECORDS:-100000} # ~3 ms a record on kvm_pvm: millions take hours
bugs="kasan_test=kmalloc_oob_right,kmalloc_uaf,kmalloc_double_kzfree,mm_slab_cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # name append: peak RSS in KiB to $tmp/name.kib, exit code to $tmp/name.rc
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$tmp/$1.time" "$vmm" run --kernel build/testguest.elf --cpus 2 \
		--memory 256 --timeout 1800 --multi_shot on --append "$2" --log "$tmp/$1.log" \
		>"$tmp/$1.out" 2>&1 </dev/null
	echo $? >"$tmp/$1.rc"
	t1=$(date +%s.%N)
	sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$tmp/$1.time" >"$tmp/$1.kib"
	printf "%.1f" "$(echo "$t1 - $t0" | bc)" >"$tmp/$1.secs"
}
run calm "$bugs"
run flood "$bugs kasan_vmm.garbage=$records"
calm=$(cat "$tmp/calm.kib")
flood=$(cat "$tmp/flood.kib")
# the host memory the guest-fed structures may use at their caps, as the run printed it
caps_mib=$(sed -n 's/^kasan-vmm: sanitizer caps: .*host memory at most \([0-9]*\) MiB$/\1/p' "$tmp/calm.out")
rejects=$(sed -n 's/^paravirt:   rejected *[a-z_]* *\([0-9]*\)$/\1/p' "$tmp/flood.out" | paste -sd+ | bc)
written=$(sed -n 's/^testguest: garbage records written: \([0-9]*\).*/\1/p' "$tmp/flood.out")
echo "bench_flood: peak RSS calm $((calm / 1024)) MiB ($(cat "$tmp/calm.secs") s)," \
	"flood $((flood / 1024)) MiB ($(cat "$tmp/flood.secs") s, ${written:-0} garbage records," \
	"${rejects:-0} rejects); caps $caps_mib MiB; exit codes $(cat "$tmp/calm.rc")/$(cat "$tmp/flood.rc")"
grep '^paravirt:   rejected' "$tmp/flood.out"
[ "$(cat "$tmp/flood.rc")" = 0 ] && [ -n "$caps_mib" ] && [ "$flood" -le $((calm + caps_mib * 1024)) ]
