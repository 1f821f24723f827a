# Shared helpers for integration tests: TAP output and the binaries under test.
# Integration tests run the ASan+UBSan build of kasan-vmm on the real /dev/kvm.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
VMM=${VMM:-build/san/kasan-vmm}
GUEST=${GUEST:-build/testguest.elf}
TMP=$(mktemp -d /tmp/kasan-vmm-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
tap_n=0
ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}
not_ok() {
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $*"
}
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# run_vmm OUT ARGS...: run kasan-vmm, stdout+stderr to OUT, sets $rc
run_vmm() {
	local out=$1
	shift
	"$VMM" "$@" >"$out" 2>&1 </dev/null
	rc=$?
}
