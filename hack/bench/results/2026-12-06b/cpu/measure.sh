#!/bin/bash
# Steady-state CPU at 3,000/s, ours against Kamailio (2 workers), three rounds in turns.
echo $$ > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd /work/main
date > /tmp/cpu33.when
KUBEBUILDER_ASSETS=/root/.cache/registrar-operator/envtest/1.37.2-3.7.3 bin/bench --skip-build --bin-dir /tmp/b33bin \
  --vs kamailio --kamailio-children 2 --rounds 3 --rates 3000 --step-duration 30s --half-rate=false \
  --cpu-rate 3000 --out /tmp/cpu33 > /tmp/cpu33.log 2>&1
echo "rc=$?" >> /tmp/cpu33.when
date >> /tmp/cpu33.when
