#!/bin/bash
# Every way a run ends has its own exit code and a message naming the cause
# (README: Exit codes), on the real /dev/kvm.
source "$(dirname "$0")/lib.sh"

ends() {
	local what=$1 want=$2 pattern=$3
	shift 3
	run_vmm "$TMP/end" run --kernel "$GUEST" --timeout 30 "$@"
	check "$what exits $want (got $rc)" [ "$rc" = "$want" ]
	check "$what: the last line names the cause" grep -qE "$pattern" <(tail -1 "$TMP/end")
}

ends "the guest's own exit code" 7 "powered off with exit code 7" --append "kasan_test=none testguest.exit=7"
ends "a triple fault" 121 "triple fault on vCPU 0 at rip 0x[0-9a-f]+ \(instruction bytes" \
	--append "kasan_test=none testguest.crash=triplefault"
ends "an instruction KVM cannot emulate (lock cmpxchg16b)" 122 \
	"could not emulate an instruction on vCPU 0 at rip 0x[0-9a-f]+ \(instruction bytes: f0 48 0f c7" \
	--append "kasan_test=none testguest.crash=emulation"
ends "a reboot request" 120 "rebooted" --append "kasan_test=none testguest.crash=reboot"
ends "a hung guest with --timeout" 124 "timeout: the guest was still running after 3 s" \
	--append "kasan_test=none testguest.crash=hang" --timeout 3
