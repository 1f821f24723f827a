#!/bin/bash
# The CPUID the guest is given hides every instruction class the host probe
# found it cannot run at guest CPL0 (vmm/probe.c, vmm/cpuid.c), checked on the
# real /dev/kvm: kasan-vmm logs the probe and the words it gives KVM
# (KASAN_VMM_VERBOSE=1), the test guest prints the words it reads
# (testguest.cpuid=1). On kvm_pvm the probe must find vex, cx16 and the xsave
# family. kvm_pvm passes some of the host's own leaf 1/7/0xD bits through
# whatever KVM_SET_CPUID2 says (vmm/cpl0.h); there, a hidden class the guest
# still sees must be one the host CPU itself has (/proc/cpuinfo), never a
# bit that came from kasan-vmm's table.
source "$(dirname "$0")/lib.sh"

KASAN_VMM_VERBOSE=1 run_vmm "$TMP/out" run --kernel "$GUEST" --timeout 60 \
	--append "kasan_test=none testguest.cpuid=1"
check "the guest runs to power-off (got $rc)" [ "$rc" = 0 ]
cannot=$(sed -n 's/.*cannot run at CPL0:\(.*\)$/\1/p' "$TMP/out")
# a hardware-virtualization host may find nothing to hide: "(nothing)"
classes=${cannot/ (nothing)/}
given=$(sed -n 's/.*cpuid: the guest is given //p' "$TMP/out")
seen=$(sed -n 's/^testguest: cpuid //p' "$TMP/out")
check "kasan-vmm logs the probe result" [ -n "$cannot" ]
check "kasan-vmm logs the CPUID words it gives KVM" [ -n "$given" ]
check "the guest prints the CPUID words it reads" [ -n "$seen" ]

# word NAME WORDS: the value of NAME= in a "1.ecx=0x... 7.ebx=0x..." line
word() { sed -n "s/.*\\b$1=\\(0x[0-9a-f]*\\).*/\\1/p" <<<"$2"; }
# A class's CPUID bits (SDM vol. 2, CPUID) and its /proc/cpuinfo flag.
declare -A bits=(
	[vex]="1.ecx:28 7.ebx:5" [cx16]="1.ecx:13" [xsave]="1.ecx:26" [xsaves]="d1.eax:3"
	[popcnt]="1.ecx:23" [smap]="7.ebx:20" [fsgsbase]="7.ebx:0" [rdrand]="1.ecx:30"
	[rdseed]="7.ebx:18" [movbe]="1.ecx:22" [adx]="7.ebx:19" [rtm]="7.ebx:11"
	[rdpid]="7.ecx:22" [rdtscp]="80000001.edx:27" [pku]="7.ecx:3" [invpcid]="7.ebx:10"
	[clflushopt]="7.ebx:23" [clwb]="7.ebx:24" [serialize]="7.edx:14"
	[lzcnt]="80000001.ecx:5" [pclmulqdq]="1.ecx:1" [aes]="1.ecx:25" [ssse3]="1.ecx:9"
	[sse4_1]="1.ecx:19" [sse4_2]="1.ecx:20" [sha_ni]="7.ebx:29" [gfni]="7.ecx:8"
)
declare -A flag=([vex]=avx [lzcnt]=abm)
host_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
pvm=no
[ -e /sys/module/kvm_pvm ] && pvm=yes

# set WORDS CLASS: prints the class's bits that are set in WORDS
set_bits() {
	local wb v out=""
	for wb in ${bits[$2]}; do
		v=$(word "${wb%%:*}" "$1")
		[ -n "$v" ] && (((v >> ${wb##*:}) & 1)) && out+=" $wb"
	done
	echo "$out"
}
for class in $classes; do
	check "class '$class' has known CPUID bits in this test" [ -n "${bits[$class]:-}" ]
	[ -n "${bits[$class]:-}" ] || continue
	check "'$class': its bits are clear in what kasan-vmm gives KVM" \
		[ -z "$(set_bits "$given" "$class")" ]
	leaked=$(set_bits "$seen" "$class")
	if [ $pvm = no ] || [ -z "$leaked" ]; then
		check "'$class': the guest does not see it (set:${leaked:- none})" [ -z "$leaked" ]
	else
		f=${flag[$class]:-$class}
		check "'$class': kvm_pvm passes the host's own bits through (set:$leaked; host flag $f)" \
			grep -q " $f " <<<"$host_flags"
	fi
done
# XSAVE gone: leaf 0xD goes too (its sizes describe state the guest cannot save).
if [[ " $cannot " == *" xsave "* ]]; then
	check "xsave hidden: leaf 0xD is empty in what kasan-vmm gives KVM" \
		[ "$(word d.eax "$given")" = 0x0 -a "$(word d1.eax "$given")" = 0x0 ]
fi

if [ $pvm = yes ]; then
	for class in vex cx16 xsave xsaves; do
		check "kvm_pvm: the probe finds '$class' cannot run at CPL0" \
			grep -qw "$class" <<<"$cannot"
	done
	# The one of these kvm_pvm takes from KVM_SET_CPUID2: the guest really loses it.
	check "kvm_pvm: the guest does not see cx16" [ -z "$(set_bits "$seen" cx16)" ]
fi
