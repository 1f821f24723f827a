#!/bin/bash
# Arming policies (--arm, issue 5): the test guest runs two use-after-free
# scenarios and an allocation-heavy one under each policy. The exit coverage
# line ("ept coverage (MECH, arm=POLICY): ...") must name the mechanism and the
# policy and show what the policy did: all arms every poisoned page and finds
# both bugs; freed arms no more pages than all and finds both too; sampled
# arms fewer; adaptive finds at least the page use-after-free and, over its
# trap-time budget, disarms hot pages, re-arms them later and says so in the
# default output.
source "$(dirname "$0")/lib.sh"

TESTS=kmalloc_uaf,page_alloc_uaf,mm_event_rate

# field NAME FILE: the number after NAME in the coverage line
field() {
	sed -n "s/^ept coverage .*[ (]$1 \([0-9]*\).*/\1/p" "$2"
}

for policy in all freed sampled adaptive; do
	out=$TMP/$policy
	run_vmm "$out" run --kernel "$GUEST" --cpus 2 --timeout 600 --multi_shot on \
		--append "kasan_test=$TESTS" --arm "$policy"
	check "--arm $policy: the guest ran all its cases (exit $rc)" [ "$rc" = 0 ]
	check "--arm $policy: the coverage line names the mechanism and the policy" \
		grep -Eq "^ept coverage \((mprotect|hole|readonly), arm=$policy\): " "$out"
	arms=$(field arms "$out")
	eval "arms_$policy=\${arms:-0}"
	check "--arm $policy: pages were armed (arms ${arms:-none})" [ "${arms:-0}" -gt 0 ]
	# sampled arms 1 page in 8: it may well miss it
	[ "$policy" = sampled ] && continue
	check "--arm $policy: the page use-after-free was found" \
		grep -q '^BUG: KASAN: use-after-free in test_page_alloc_uaf' "$out"
done

for policy in all freed; do
	# freed: the object's page was poisoned (red zones) before the free
	check "--arm $policy: the slab use-after-free was found" \
		grep -q '^BUG: KASAN: slab-use-after-free in test_kmalloc_uaf' "$TMP/$policy"
done
# freed arms the pages holding freed memory, a subset of all's poisoned pages
check "--arm freed armed no more pages than all ($arms_freed <= $arms_all)" \
	[ "$arms_freed" -le "$arms_all" ]
check "--arm sampled armed fewer pages than all ($arms_sampled < $arms_all)" \
	[ "$arms_sampled" -lt "$arms_all" ]
check "--arm sampled: no trap time over budget to report (no heat disarms)" \
	[ "$(field 'disarmed for heat' "$TMP/sampled")" = 0 ]

heat=$(field 'disarmed for heat' "$TMP/adaptive")
rearmed=$(sed -n 's/^ept coverage .*(re-armed \([0-9]*\)).*/\1/p' "$TMP/adaptive")
notices=$(grep -c '^kasan-vmm: ept: adaptive: vCPU [0-9]* spent .* (budget 5.0%): disarmed' \
	"$TMP/adaptive")
echo "# adaptive: disarmed for heat ${heat:-?}, re-armed ${rearmed:-?}, $notices notice(s)"
check "--arm adaptive: the coverage line has its heat numbers" [ -n "$heat" -a -n "$rearmed" ]
if [ -e /sys/module/kvm_pvm ]; then
	# measured here: mm_event_rate's traps take well over 5% of vCPU time at ~10 us each
	check "--arm adaptive on kvm_pvm: hot pages were disarmed ($heat)" [ "${heat:-0}" -gt 0 ]
fi
check "--arm adaptive: re-armed at most what it disarmed (${rearmed:-?} <= ${heat:-?})" \
	[ "${rearmed:-1}" -le "${heat:-0}" ]
# the notice is warn level: shown by default whenever pages were disarmed for heat
check "--arm adaptive: the heat notice is in the default output iff it disarmed ($notices)" \
	[ $((notices > 0)) = $((${heat:-0} > 0)) ]
echo "1..$tap_n"
