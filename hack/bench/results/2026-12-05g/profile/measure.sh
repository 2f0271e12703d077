#!/bin/bash
echo $BASHPID > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd /work/main
out=/tmp/prof28; rm -rf $out; mkdir -p $out; date > $out/when
bin/bench --skip-build --bin-dir /tmp/b28 --out $out --rates 3000 --step-duration 40s --half-rate=false --cpu-rate 0 > $out/bench.log 2>&1 &
bench=$!
until grep -q "warm-up:" $out/bench.log; do sleep 0.5; kill -0 $bench 2>/dev/null || exit 1; done
sleep 12
pid=$(pgrep -f '^/tmp/b28/registrar')
perf record -F 1999 -g -o $out/perf.data -p $pid -- sleep 15 > $out/perf.log 2>&1
wait $bench
echo rc=$? >> $out/when; date >> $out/when
