#!/bin/bash
# one 40 s step at 3000/s after a 15 s lead-in; perf stat + record of the registrar from 10 s into the step
cd /work/main
out=/tmp/p35/$1; rm -rf $out; mkdir -p $out
bin/bench --skip-build --bin-dir /tmp/b35 --out $out --rates 3000 --step-duration 40s --half-rate=false --cpu-rate 0 $2 > $out/bench.log 2>&1 &
bpid=$!
# wait for the measured sipp at 3000
for i in $(seq 1 600); do
  if pgrep -f 'sipp.*-r 1500' >/dev/null || pgrep -f 'sipp.*-r 3000' >/dev/null; then break; fi
  sleep 1
done
sleep 10
pid=$(pgrep -f '/tmp/b35/registrar' | head -1)
echo pid=$pid > $out/pid
perf stat -e task-clock,context-switches,cpu-migrations -e syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex,syscalls:sys_enter_nanosleep -p $pid -- sleep 10 > $out/perfstat.txt 2>&1
perf record -F 1999 -g -o $out/perf.data -p $pid -- sleep 10 > $out/perfrec.txt 2>&1
wait $bpid; echo rc=$? >> $out/pid
