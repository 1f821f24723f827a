#!/bin/bash
# `make bench`: every benchmark, one after the other, on this host. Each prints
# ratios against a baseline measured in the same invocation; none asserts wall time.
set -u
cd "$(dirname "$0")/../.." || exit 1

if [ -e /sys/module/kvm_pvm ]; then
	host="kvm_pvm (software nested hypervisor: guest CPL0 code emulated by KVM)"
elif grep -qwE 'vmx|svm' /proc/cpuinfo; then
	host="hardware virtualization ($(grep -owE 'vmx|svm' /proc/cpuinfo | head -1))"
else
	host="unknown (no kvm_pvm, no vmx/svm flag)"
fi
echo "== make bench: host $host, $(nproc) cores, $(uname -r)"

rc=0
results=""
run() { # name command...
	local name=$1
	shift
	echo
	if "$@"; then
		results="$results $name:ok"
	else
		results="$results $name:FAIL"
		rc=1
	fi
}

run ept build/bench/bench_ept
run events build/bench/bench_events
run boot build/bench/bench_boot 5
run doorbell tests/bench/bench_doorbell.sh

echo
echo "bench summary (host ${host%% *}):$results"
exit $rc
