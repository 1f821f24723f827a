#!/bin/bash
# End-to-end detection (issue 5): the test guest runs every KASAN scenario
# under kasan-vmm (generic mode, multi_shot) with 1 and 2 vCPUs, and with 2
# vCPUs on memslot holes (--ept_mechanism hole, what hardware hosts use);
# each scenario's reports must be exactly its expectation lines: right bug
# type, access and size, at the scenario's object, with allocation (and, for
# use-after-free and double-free, free) stacks naming the scenario;
# must-not-report cases and cases without expectations produce no report,
# and every case of the plan runs. kasan_matrix.py's own exit status is an
# assertion too (a traceback fails). The detection matrix, with the cases
# not checked here and why, is printed and saved in build/test-logs/.
source "$(dirname "$0")/lib.sh"
mkdir -p build/test-logs

# matrix_run LABEL ARGS...: one kasan_test=all run and its checked matrix
matrix_run() {
	local label=$1 out=$TMP/$1 matrix=build/test-logs/kasan-matrix-$1.txt mrc line
	shift
	run_vmm "$out" run --kernel "$GUEST" --timeout 900 --multi_shot on "$@" \
		--append kasan_test=all
	check "[$label] kasan_test=all: the guest finished, all its cases passed (exit $rc)" \
		[ "$rc" = 0 ]
	rm -f "$matrix" # never show an earlier run's
	python3 tests/integration/kasan_matrix.py "$out" --matrix "$matrix" >"$out.tap" 2>&1
	mrc=$?
	# (no pipe into the loop: ok/not_ok must count in this shell)
	while read -r line; do
		case "$line" in
		"ok "[0-9]*" - "*) ok "[$label] ${line#ok * - }" ;;
		"not ok "[0-9]*" - "*) not_ok "[$label] ${line#not ok * - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$out.tap"
	check "[$label] kasan_matrix.py ran to the end and passed (exit $mrc)" [ "$mrc" = 0 ]
	echo "# detection matrix, $label ($matrix):"
	sed 's/^/# /' "$matrix"
}

matrix_run 1-cpus --cpus 1
matrix_run 2-cpus --cpus 2
matrix_run 2-cpus-hole --cpus 2 --ept_mechanism hole
check "[2-cpus-hole] the trap mechanism was memslot holes" \
	grep -q "^ept coverage (hole," "$TMP/2-cpus-hole"
