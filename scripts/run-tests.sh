#!/bin/bash
# Runs every test and closes with one line "tests: N passed, N failed".
#   unit: cmocka binaries given as arguments (built under ASan+UBSan)
#   integration: tests/integration/test_*.sh, each printing TAP lines ("ok" / "not ok")
set -u
cd "$(dirname "$0")/.."
unit_only=0
[ "${1:-}" = --unit-only ] && { unit_only=1; shift; }

passed=0
failed=0
failures=()
log=build/test-logs
mkdir -p "$log"

for bin in "$@"; do
	name=$(basename "$bin")
	out="$log/$name.log"
	"$bin" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer abort before cmocka's summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "unit $name: $p passed, $f failed"
	if [ "$f" -ne 0 ]; then
		failures+=("unit $name")
		sed 's/^/    /' "$out" | tail -40
	fi
done

if [ "$unit_only" = 0 ]; then
	for t in tests/integration/test_*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .sh)
		out="$log/$name.log"
		timeout 1200 bash "$t" >"$out" 2>&1
		rc=$?
		p=$(grep -c '^ok ' "$out")
		f=$(grep -c '^not ok ' "$out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "not ok - $name exited $rc" >>"$out"
		fi
		if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			f=1 # a test script that asserted nothing is a failure
			echo "not ok - $name ran no assertion" >>"$out"
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		echo "integration $name: $p passed, $f failed"
		if [ "$f" -ne 0 ]; then
			failures+=("integration $name")
			grep -B3 -A15 '^not ok' "$out" | sed 's/^/    /' | head -80
		fi
	done
fi

for x in "${failures[@]+"${failures[@]}"}"; do
	echo "FAILED: $x"
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
