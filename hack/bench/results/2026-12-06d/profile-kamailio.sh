#!/bin/bash
cd /work/main
out=/tmp/p35/kam; rm -rf $out; mkdir -p $out
bin/bench --skip-build --bin-dir /tmp/b35 --out $out --vs kamailio --no-ours --kamailio-children 2 --rounds 1 --rates 3000 --step-duration 40s --half-rate=false --cpu-rate 0 > $out/bench.log 2>&1 &
bpid=$!
for i in $(seq 1 900); do
  if pgrep -f 'sipp.*-r 1500' >/dev/null; then break; fi
  sleep 1
done
sleep 12
pids=$(pgrep -d, -x kamailio)
echo pids=$pids > $out/pid
perf stat -e task-clock,context-switches,cpu-migrations -e syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_futex -p $pids -- sleep 10 > $out/perfstat.txt 2>&1
perf record -F 1999 -g -o $out/perf.data -p $pids -- sleep 10 > $out/perfrec.txt 2>&1
wait $bpid; echo rc=$? >> $out/pid
