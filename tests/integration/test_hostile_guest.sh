#!/bin/bash
# A hostile guest (issue 8): while CPU 0 runs real bug scenarios, CPU 1
# floods and garbles its event ring (kasan_vmm.garbage=N records,
# tests/guest/kasan_vmm_exercise.c). kasan-vmm must stay up (exit code =
# the guest's), stay within its memory caps (peak RSS against a run without
# the flood), still report the event-time bugs, and count the garbage by
# reason. The bigger flood is in `make bench` (tests/bench/bench_flood.sh).
source "$(dirname "$0")/lib.sh"

records=${HOSTILE_RECORDS:-50000}
bugs="kasan_test=kmalloc_oob_right,kmalloc_uaf,kmalloc_double_kzfree,kmem_cache_invalid_free,mm_slab_cache"
args=(run --kernel "$GUEST" --cpus 2 --timeout 900 --multi_shot on --memory 256)

peak() { sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$1"; }
# the host memory the guest-fed structures may use at their caps, as the run printed it
caps() { sed -n 's/^kasan-vmm: sanitizer caps: .*host memory at most \([0-9]*\) MiB$/\1/p' "$1"; }
titles() { grep '^BUG: KASAN: ' "$1" | sort -u; }

/usr/bin/time -v -o "$TMP/calm.time" "$VMM" "${args[@]}" --append "$bugs" \
	--log "$TMP/calm.log" >"$TMP/calm" 2>&1 </dev/null
calm_rc=$?
/usr/bin/time -v -o "$TMP/flood.time" "$VMM" "${args[@]}" \
	--append "$bugs kasan_vmm.garbage=$records" --log "$TMP/flood.log" >"$TMP/flood" 2>&1 </dev/null
rc=$?
calm_kib=$(peak "$TMP/calm.time")
flood_kib=$(peak "$TMP/flood.time")
caps_mib=$(caps "$TMP/calm")
written=$(sed -n 's/^testguest: garbage records written: \([0-9]*\).*/\1/p' "$TMP/flood")
rejected=$(sed -n 's/^paravirt:   rejected *[a-z_]* *\([0-9]*\)$/\1/p' "$TMP/flood" | paste -sd+ | bc)

echo "# peak RSS: without flood $((calm_kib / 1024)) MiB, with $written garbage records" \
	"$((flood_kib / 1024)) MiB (guest-fed caps: $caps_mib MiB; ASan build)"
echo "# garbage rejected by reason:"
grep '^paravirt:   rejected' "$TMP/flood" | sed 's/^/#   /'
check "the calm run ends normally (exit $calm_rc)" [ "$calm_rc" = 0 ]
check "flood: kasan-vmm stays up, exit code is the guest's (exit $rc)" [ "$rc" = 0 ]
check "flood: the guest really wrote $records garbage records ($written)" [ "${written:-0}" = "$records" ]
check "the run printed its caps (${caps_mib:-none} MiB) and the flood run the same" \
	[ -n "$caps_mib" -a "$caps_mib" = "$(caps "$TMP/flood")" ]
check "flood: peak RSS $((flood_kib / 1024)) MiB <= calm $((calm_kib / 1024)) MiB + caps ${caps_mib:-?} MiB" \
	[ "$flood_kib" -le $((calm_kib + ${caps_mib:-0} * 1024)) ]
check "the calm run reports each of the 5 bugs ($(titles "$TMP/calm.log" | wc -l) titles)" \
	[ "$(titles "$TMP/calm.log" | wc -l)" -ge 5 ]
check "flood: the same bug titles as the calm run" \
	diff <(titles "$TMP/calm.log") <(titles "$TMP/flood.log")
check "flood: garbage is rejected and counted by reason ($rejected rejects)" \
	[ "${rejected:-0}" -gt 1000 ]
check "flood: at least 3 distinct reject reasons" \
	[ "$(grep -c '^paravirt:   rejected' "$TMP/flood")" -ge 3 ]
check "flood: every real event was applied (none dropped or lost)" \
	grep -qE 'testguest: kasan-vmm events applied: [0-9]+, rejected: [0-9]+, dropped: 0, lost: 0' "$TMP/flood"
echo "1..$tap_n"
