#!/bin/bash
# make demo-linux: build (or reuse) the CI Linux guest, boot it under
# kasan-vmm with 2 vCPUs, let its built-in runner do the KASAN scenarios with
# no user space, and show the reports kasan-vmm found. Extra arguments go to
# `kasan-vmm run` (e.g. --append kasan_test=kmalloc_oob_right,kmalloc_uaf).
set -u
cd "$(dirname "$0")/.." || exit 1
kdir=$(scripts/build-linux.sh) || exit 1
log=build/demo/linux-kasan.log
mkdir -p build/demo
rm -f "$log" "$log.jsonl"
echo "== kasan-vmm demo: booting $kdir/vmlinux (2 vCPUs, kasan_test=all slub_debug=Z) =="
build/kasan-vmm run --kernel "$kdir/vmlinux" --system_map "$kdir/System.map" --cpus 2 \
	--memory 256 --timeout 900 --multi_shot on --log "$log" \
	--append "console=ttyS0 kasan_test=all slub_debug=Z init_on_alloc=0 panic=-1 kasan_vmm_start=late" "$@"
rc=$?
echo
echo "== kasan-vmm exited with code $rc; reports by title ($log, $log.jsonl): =="
build/kasan-vmm report "$log"
exit $rc
