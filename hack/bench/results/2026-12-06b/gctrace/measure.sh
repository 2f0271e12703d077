#!/bin/bash
echo $$ > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd /work/main
GODEBUG=gctrace=1 KUBEBUILDER_ASSETS=/root/.cache/registrar-operator/envtest/1.37.2-3.7.3 bin/bench --skip-build --bin-dir /tmp/b33bin \
  --rounds 1 --rates 3000,3000,3000 --step-duration 30s --half-rate=false --cpu-rate 0 --out /tmp/gc33 > /tmp/gc33.log 2>&1
echo "rc=$? $(date)" > /tmp/gc33.when
