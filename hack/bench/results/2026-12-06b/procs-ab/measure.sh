#!/bin/bash
# One P raised on one busy interval (old, main at 1f0c6a5) or on three (new): CPU at
# 3,000/s and p99 at 10,000/s, two alternating pairs.
echo $$ > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd /work/main
for pass in 1 2; do
  for build in old new; do
    bin=/tmp/b33bin; [ $build = new ] && bin=/tmp/b33new
    echo "$build $pass $(date +%T)" >> /tmp/ab33.when
    KUBEBUILDER_ASSETS=/root/.cache/registrar-operator/envtest/1.37.2-3.7.3 bin/bench --skip-build --bin-dir $bin \
      --rounds 1 --rates 3000,3000,3000,10000 --step-duration 30s --half-rate=false --cpu-rate 0 \
      --out /tmp/ab33/$build-$pass > /tmp/ab33-$build-$pass.log 2>&1
  done
done
echo "done $(date +%T)" >> /tmp/ab33.when
