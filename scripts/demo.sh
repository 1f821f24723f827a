#!/bin/bash
# make demo: boot the bundled test guest under kasan-vmm with 2 vCPUs, running
# the KASAN scenarios, and show the reports kasan-vmm wrote to its host log.
set -u
cd "$(dirname "$0")/.."
log=build/demo/kasan.log
mkdir -p build/demo
rm -f "$log" "$log.jsonl"
echo "== kasan-vmm demo: booting build/testguest.elf (configs/testguest.ini) =="
build/kasan-vmm run --config configs/testguest.ini --log "$log" --timeout 300
rc=$?
echo "== kasan-vmm exited with code $rc =="
if [ -s "$log" ]; then
	echo "== KASAN reports in $log =="
	cat "$log"
fi
exit $rc
