#!/bin/bash
# alternating runs: NAME "BINDIR..." RUNS RATES
echo $BASHPID > /sys/fs/cgroup/cpu/fg/cgroup.procs
for p in $(cat /sys/fs/cgroup/cpu/cgroup.procs); do echo $p > /sys/fs/cgroup/cpu/bg/cgroup.procs 2>/dev/null; done
cd /work/main
name=$1; bins=$2; runs=${3:-3}; rates=${4:-3000,3000}
for i in $(seq 1 $runs); do
  for bd in $bins; do
    out=/tmp/abx35/$name/$(basename $bd)-$i; rm -rf $out; mkdir -p $out; date > $out/when
    bin/bench --skip-build --bin-dir $bd --out $out --rates $rates --step-duration 30s \
      --half-rate=false --cpu-rate 0 > $out/bench.log 2>&1
    echo rc=$? >> $out/when; date >> $out/when
  done
done
for p in $(cat /sys/fs/cgroup/cpu/bg/cgroup.procs); do echo $p > /sys/fs/cgroup/cpu/cgroup.procs 2>/dev/null; done
echo done > /tmp/abx35/$name/DONE
