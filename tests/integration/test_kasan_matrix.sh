#!/bin/bash
# End-to-end detection (issue 5): the test guest runs every KASAN scenario
# under kasan-vmm (generic mode, multi_shot) with 1 and 2 vCPUs; each
# scenario's expectation lines must be met by reports of the right bug type,
# access and size, at the scenario's object, with an allocation stack naming
# the scenario, and must-not-report cases must produce no report. The
# detection matrix is printed and saved in build/test-logs/.
source "$(dirname "$0")/lib.sh"
mkdir -p build/test-logs
for cpus in 1 2; do
	run_vmm "$TMP/all$cpus" run --kernel "$GUEST" --cpus $cpus --timeout 900 --multi_shot on \
		--append kasan_test=all
	check "kasan_test=all on $cpus vCPU(s): the guest finished, all its cases passed (exit $rc)" \
		[ "$rc" = 0 ]
	matrix=build/test-logs/kasan-matrix-$cpus-cpus.txt
	python3 tests/integration/kasan_matrix.py "$TMP/all$cpus" --matrix "$matrix" |
		sed "s/^\(\(not \)\?ok\) [0-9]* - /\1 - [$cpus cpu] /" | while read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done
	echo "# detection matrix, $cpus vCPU(s) ($matrix):"
	sed 's/^/# /' "$matrix"
done
