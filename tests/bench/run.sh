#!/bin/bash
# `make bench`: every benchmark, one after the other, on this host.
set -u
cd "$(dirname "$0")/../.."
rc=0
build/bench/bench_ept || rc=1
exit $rc
