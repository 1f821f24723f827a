#!/bin/bash
# End-to-end detection (issue 5): the test guest runs every KASAN scenario
# under kasan-vmm (generic mode, multi_shot) with 1 and 2 vCPUs; each
# scenario's reports must be exactly its expectation lines: right bug type,
# access and size, at the scenario's object, with allocation (and, for
# use-after-free and double-free, free) stacks naming the scenario;
# must-not-report cases and cases without expectations produce no report,
# and every case of the plan runs. kasan_matrix.py's own exit status is an
# assertion too (a traceback fails). The detection matrix, with the cases
# not checked here and why, is printed and saved in build/test-logs/.
source "$(dirname "$0")/lib.sh"
mkdir -p build/test-logs
for cpus in 1 2; do
	run_vmm "$TMP/all$cpus" run --kernel "$GUEST" --cpus $cpus --timeout 900 --multi_shot on \
		--append kasan_test=all
	check "kasan_test=all on $cpus vCPU(s): the guest finished, all its cases passed (exit $rc)" \
		[ "$rc" = 0 ]
	matrix=build/test-logs/kasan-matrix-$cpus-cpus.txt
	rm -f "$matrix" # never show an earlier run's
	python3 tests/integration/kasan_matrix.py "$TMP/all$cpus" --matrix "$matrix" \
		>"$TMP/tap$cpus" 2>&1
	mrc=$?
	# (no pipe into the loop: ok/not_ok must count in this shell)
	while read -r line; do
		case "$line" in
		"ok "[0-9]*" - "*) ok "[$cpus cpu] ${line#ok * - }" ;;
		"not ok "[0-9]*" - "*) not_ok "[$cpus cpu] ${line#not ok * - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$TMP/tap$cpus"
	check "[$cpus cpu] kasan_matrix.py ran to the end and passed (exit $mrc)" [ "$mrc" = 0 ]
	echo "# detection matrix, $cpus vCPU(s) ($matrix):"
	sed 's/^/# /' "$matrix"
done
