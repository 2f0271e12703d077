#!/bin/bash
# Count system calls and context switches per registration at 3,000/s: ours, then Kamailio.
echo $BASHPID > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd /work/main
out=${1:-/tmp/sys28}; mkdir -p $out; date > $out/when
bin/bench --skip-build --bin-dir /tmp/b28 --out $out --vs kamailio --kamailio-children 2 --rounds 1 \
  --rates 3000,3000 --step-duration 40s --half-rate=false --cpu-rate 0 > $out/bench.log 2>&1 &
bench=$!
ev=raw_syscalls:sys_enter,context-switches
for s in recvmmsg sendmmsg epoll_pwait epoll_wait futex recvfrom sendto nanosleep getsockopt ioctl poll select; do ev=$ev,syscalls:sys_enter_$s; done
measure() { # name, header, pids-command
  until awk -v h="$2" '$0 ~ h {f=1} f && /fixed /{c++} END{exit !(c>=1)}' $out/bench.log; do sleep 0.5; kill -0 $bench 2>/dev/null || return; done
  sleep 5
  pids=$(eval "$3" | paste -sd,)
  echo "$1 pids $pids" >> $out/perf.txt
  ticks() { for p in ${pids//,/ }; do awk '{print $14, $15}' /proc/$p/stat; done | awk '{u+=$1; s+=$2} END {print u, s}'; }
  before=$(ticks)
  if [ -n "$NOPERF" ]; then sleep 20; else perf stat -e $ev -p $pids -- sleep 20 >> $out/perf.txt 2>&1; fi
  echo "$1 utime stime ticks before $before after $(ticks)" >> $out/perf.txt
}
measure ours "registrar-operator: 40s steps" "pgrep -f '^/tmp/b28/registrar'"
measure kamailio "kamailio.*: 40s steps" "pgrep -x kamailio"
wait $bench
echo rc=$? >> $out/when; date >> $out/when
