#!/bin/bash
# The test guest is built as tests/guest/guest.mk says, checked on the binary
# CI boots: no SSE/AVX register anywhere (the CPL0 emulator here cannot run
# VEX and the guest keeps no FPU state), no popcnt or compiler-made cmpxchg16b
# (baseline x86-64), and frame pointers in the allocators and scenarios, whose stacks
# kasan-vmm unwinds by rbp: every function there that calls out or moves
# %rsp first pushes %rbp and then sets %rbp = %rsp, before any call, other
# push or stack allocation.
source "$(dirname "$0")/lib.sh"
OBJ_DIR=${GUEST_OBJ_DIR:-build/guest/tests/guest}

objdump -d --no-show-raw-insn "$GUEST" >"$TMP/dis"
check "objdump disassembles $GUEST" [ -s "$TMP/dis" ]
# absent REGEX: the disassembly has no match (the matches are printed)
absent() { ! grep -E "$1" "$TMP/dis" | head -5 | grep .; }
check "no %xmm/%ymm/%zmm register in $GUEST" absent '%[xyz]mm[0-9]'
check "no popcnt in $GUEST" absent '\bpopcnt\b'
# The one cmpxchg16b is crash()'s inline asm, there on purpose (test_exit_codes.sh).
cx16_in=$(awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } /cmpxchg16b/ { print fn }' "$TMP/dis" | sort -u | xargs)
check "cmpxchg16b only in <crash> (found in: ${cx16_in:-nothing})" [ "$cx16_in" = "<crash>:" ]

# Functions defined in the allocators and scenarios (static ones included).
for o in "$OBJ_DIR"/mm/*.o "$OBJ_DIR"/scenarios/*.o; do
	nm --defined-only "$o" | awk '$2 ~ /^[tT]$/ { print $3 }'
done | sort -u >"$TMP/names"
check "the mm/ and scenarios/ objects define functions" [ "$(wc -l <"$TMP/names")" -gt 50 ]

# One line per function in the list: "name framed|noframe|BAD <first insns>".
awk -v names="$TMP/names" '
	BEGIN { while ((getline n < names) > 0) want[n] = 1 }
	function done() {
		if (fn == "") return
		if (state == "rbp_set") verdict = "framed"
		else if (state == "start") verdict = "noframe"
		print fn, verdict, seen
		fn = ""
	}
	/^[0-9a-f]+ <.*>:$/ {
		done()
		name = substr($2, 2, length($2) - 3)
		if (name in want) { fn = name; state = "start"; verdict = "BAD"; seen = "" }
		next
	}
	fn != "" && /^ +[0-9a-f]+:\t/ {
		split($0, f, "\t"); insn = f[2]; gsub(/ +/, " ", insn)
		if (state == "rbp_set" || state == "bad") next
		if (length(seen) < 120) seen = seen "; " insn
		stack = insn ~ /^(call|push|sub .*,%rsp$|enter)/
		if (state == "start" && insn == "push %rbp") state = "rbp_pushed"
		else if (state == "rbp_pushed" && insn == "mov %rsp,%rbp") state = "rbp_set"
		else if (stack || insn ~ /%rbp/) state = "bad"
	}
	END { done() }
' "$TMP/dis" >"$TMP/frames"
framed=$(grep -c ' framed ' "$TMP/frames")
check "functions of mm/ and scenarios/ found in $GUEST ($(wc -l <"$TMP/frames"), $framed with a frame)" \
	[ "$framed" -gt 50 ]
bad=$(grep ' BAD ' "$TMP/frames")
check "each sets up %rbp before its first call, push or stack allocation${bad:+: $(grep -c . <<<"$bad") do not, e.g. $(head -2 <<<"$bad" | xargs)}" \
	[ -z "$bad" ]
