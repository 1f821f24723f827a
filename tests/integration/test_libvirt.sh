#!/bin/bash
# libvirt domains under kasan-vmm, through libvirt's test driver (no daemon):
# a node file generated from tests/fixtures/libvirt/node.xml.in with this
# checkout's absolute paths. Boots run on the real /dev/kvm. Also the hook.
source "$(dirname "$0")/lib.sh"

FIX=tests/fixtures/libvirt
sed -e "s|@KERNEL@|$PWD/$GUEST|g" -e "s|@TMP@|$TMP|g" "$FIX/node.xml.in" >"$TMP/node.xml"
URI="test://$TMP/node.xml"

# one_line WHAT: the last run printed exactly one line
one_line() {
	check "$1 prints one line" [ "$(wc -l <"$TMP/out")" = 1 ]
}

# (a) a defined, shut-off domain boots: its vCPUs (current=2), its cmdline, its file serial
run_vmm "$TMP/out" run --connect "$URI" --domain kv-plain --timeout 60
check "kv-plain boots and exits 0 (got $rc)" [ "$rc" = 0 ]
check "kv-plain prints the marker with the domain's 2 vCPUs" grep -q '^testguest: cpus online: 2$' "$TMP/out"
check "kv-plain's <serial type='file'> gets the console" \
	grep -q '^testguest: cpus online: 2$' "$TMP/plain-console.txt"

# the domain's metadata sets the sanitizer: fault=panic stops at the first report
run_vmm "$TMP/out" run --connect "$URI" --domain kv-tagged --timeout 60
check "kv-tagged's metadata fault='panic' exits 125 (got $rc)" [ "$rc" = 125 ]
# and the command line overrides the domain
run_vmm "$TMP/out" run --connect "$URI" --domain kv-tagged --timeout 60 --fault report --cpus 2
check "--fault report over the metadata runs the scenarios to exit 0 (got $rc)" [ "$rc" = 0 ]
check "--cpus 2 over <vcpu>1</vcpu> boots 2 vCPUs" grep -q '^testguest: cpus online: 2$' "$TMP/out"

# (b) rejections: exit 2, one line naming the reason
run_vmm "$TMP/out" run --connect "$URI" --domain kv-nokernel --timeout 60
check "a domain without <kernel> exits 2 (got $rc)" [ "$rc" = 2 ]
check "... saying so" grep -q "domain 'kv-nokernel' has no <os><kernel>" "$TMP/out"
one_line "a domain without <kernel>"

run_vmm "$TMP/out" run --connect "$URI" --domain kv-devices --timeout 60
check "a domain with a disk, NIC and VNC exits 2 (got $rc)" [ "$rc" = 2 ]
check "... naming each of them" \
	grep -q "cannot honour: disk type='file' vda, interface type='network'.*, graphics type='vnc'" "$TMP/out"
one_line "unsupported devices"
run_vmm "$TMP/out" run --connect "$URI" --domain kv-devices --timeout 60 --ignore-unsupported
check "--ignore-unsupported boots it anyway (got $rc)" [ "$rc" = 0 ]
check "... after one warning naming them" grep -q "kv-devices': running without: disk" "$TMP/out"

# (c) a domain libvirt runs is refused
run_vmm "$TMP/out" run --connect "$URI" --domain kv-running --timeout 60
check "a running domain is refused with exit 2 (got $rc)" [ "$rc" = 2 ]
check "... saying libvirt runs it" grep -q "libvirt runs domain 'kv-running'" "$TMP/out"
one_line "a running domain"

run_vmm "$TMP/out" run --connect "$URI" --domain nonesuch
check "an unknown domain exits 2 (got $rc)" [ "$rc" = 2 ]
one_line "an unknown domain"
run_vmm "$TMP/out" run --connect "test:///nonexistent/node.xml" --domain kv-plain
check "an unusable connection exits 1 (got $rc)" [ "$rc" = 1 ]
one_line "an unusable connection"
run_vmm "$TMP/out" run --connect "$URI" --kernel "$GUEST"
check "--connect without --domain exits 2 (got $rc)" [ "$rc" = 2 ]

# (d) tag/untag. The test driver keeps state per connection, so each command
# writes and then reads back through libvirt on its own connection and prints
# what libvirt stored (tests/unit/test_libvirt_conn.c does whole round trips).
run_vmm "$TMP/out" libvirt tag kv-plain --connect "$URI" --mode tags --fault=panic --multi_shot on
check "tag exits 0 (got $rc)" [ "$rc" = 0 ]
check "libvirt stores the settings tag wrote" \
	grep -qx "domain 'kv-plain' now: <sanitizer mode=\"tags\" fault=\"panic\" multi_shot=\"on\"/>" "$TMP/out"
run_vmm "$TMP/out" libvirt tag kv-running --connect "$URI" --arm freed
check "a running domain is tagged too (live and config) (got $rc)" \
	grep -qx "domain 'kv-running' now: <sanitizer arm=\"freed\"/>" "$TMP/out"
run_vmm "$TMP/out" libvirt show kv-tagged --connect "$URI"
check "show prints the fixture's metadata" \
	grep -qx "domain 'kv-tagged': <sanitizer mode=\"generic\" fault=\"panic\" multi_shot=\"off\"/>" "$TMP/out"
run_vmm "$TMP/out" libvirt untag kv-tagged --connect "$URI"
check "untag removes it (exit $rc)" grep -qx "domain 'kv-tagged' now: not tagged" "$TMP/out"
run_vmm "$TMP/out" libvirt tag kv-plain --connect "$URI" --fault sometimes
check "tag with a bad value exits 2 (got $rc)" [ "$rc" = 2 ]
one_line "tag with a bad value"
run_vmm "$TMP/out" libvirt tag kv-plain --connect "$URI" --memory 64
check "tag takes only sanitizer options (got $rc)" [ "$rc" = 2 ]

# (e) the hook: a pure function of its arguments and the XML on stdin, for
# every operation libvirt calls it with. Only a vetoed prepare/start speaks;
# migrate and restore read stdout as the new XML (empty: unchanged), and a
# reconnect or attach that failed would kill a running QEMU.
HOOK=scripts/libvirt-hook
for f in tagged untagged commented; do
	for op in prepare start started stopped release migrate restore reconnect attach; do
		sh "$HOOK" kv-hook "$op" begin - <"$FIX/hook-$f.xml" >"$TMP/hook.out" 2>"$TMP/hook.err"
		rc=$?
		if [ "$f" = tagged ] && { [ "$op" = prepare ] || [ "$op" = start ]; }; then
			check "hook: tagged $op is vetoed (got $rc)" [ "$rc" = 1 ]
			check "hook: tagged $op says how to run it" grep -qF \
				'kasan-vmm run --connect qemu:///system --domain kv-hook' "$TMP/hook.err"
			check "hook: tagged $op says it in one line, nothing on stdout" \
				[ "$(wc -l <"$TMP/hook.err")" = 1 -a ! -s "$TMP/hook.out" ]
		else
			check "hook: $f $op passes silently (got $rc)" \
				[ "$rc" = 0 -a ! -s "$TMP/hook.out" -a ! -s "$TMP/hook.err" ]
		fi
	done
done
# libvirt reads the hook's stdout to its end: no child may keep it open
for f in tagged untagged; do
	start=$(date +%s)
	timeout 60 sh -c "timeout 5 sh $HOOK kv-hook prepare begin - <$FIX/hook-$f.xml 2>/dev/null | cat"
	check "hook: $f prepare leaves no child holding stdout ($(($(date +%s) - start)) s)" \
		[ $(($(date +%s) - start)) -lt 5 ]
done
make -s install-libvirt-hook DESTDIR="$TMP/root" >/dev/null 2>&1
check "make install-libvirt-hook installs it 0755 in qemu.d" \
	[ "$(stat -c %a "$TMP/root/etc/libvirt/hooks/qemu.d/kasan-vmm" 2>/dev/null)" = 755 ]
echo "1..$tap_n"
