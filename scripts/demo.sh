#!/bin/bash
# make demo: boot the bundled test guest under kasan-vmm with 2 vCPUs; it runs
# the KASAN test scenarios, kasan-vmm prints each report as it finds it (on
# stderr, between the guest's TAP lines) and keeps them in a durable log.
set -u
cd "$(dirname "$0")/.."
log=build/demo/kasan.log
mkdir -p build/demo
rm -f "$log" "$log.jsonl"
echo "== kasan-vmm demo: booting build/testguest.elf with configs/testguest.ini =="
build/kasan-vmm run --config configs/testguest.ini --log "$log" --timeout 600
rc=$?
echo
echo "== kasan-vmm exited with code $rc; reports by title ($log, $log.jsonl): =="
build/kasan-vmm report "$log"
exit $rc
