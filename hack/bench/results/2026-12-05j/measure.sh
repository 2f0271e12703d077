#!/bin/bash
# Session 31's runs: one 30 s step at 11,750 REGISTER+digest/s (half ours' median max
# clean rate), builds alternated. The script runs in a CPU cgroup of its own; every
# other process was moved to one with cpu.shares=3 for the duration.
#
#   measure.sh NAME "BINDIR_A BINDIR_B" RUNS
#
# BINDIR holds registrar and operator binaries (go build -o DIR/ ./cmd/registrar
# ./cmd/operator). readers/base-* is main at e3ad4fc. readers/one-reader-* is the same
# build with one-reader.patch, started by a wrapper script named registrar in its own
# BINDIR:
#   MAXREADERS=1 exec /tmp/b31p/registrar "$@"
echo $BASHPID > /sys/fs/cgroup/cpu/fg/cgroup.procs
cd "$(git rev-parse --show-toplevel)"
name=$1; bins=$2; runs=${3:-3}
for i in $(seq 1 $runs); do
  for bd in $bins; do
    out=/tmp/abx/$name/$(basename $bd)-$i; rm -rf $out; mkdir -p $out; date > $out/when
    bin/bench --skip-build --bin-dir $bd --out $out --rates 11750 --step-duration 30s \
      --half-rate=false --cpu-rate 0 > $out/bench.log 2>&1
    echo rc=$? >> $out/when
  done
done

# syscalls/: the same step, perf stat of the registrar over 10 s from 8 s in:
#   perf stat -e syscalls:sys_exit_recvmmsg -e syscalls:sys_exit_recvmmsg --filter 'ret == -11' \
#     -e syscalls:sys_exit_sendmmsg -e syscalls:sys_enter_epoll_pwait -e syscalls:sys_enter_futex \
#     -e context-switches -p PID -- sleep 10
# (the second recvmmsg line counts the reads that found the socket empty, EAGAIN).
# profile/: the same step of base, perf record -F 1999 -g -p PID -- sleep 10 from 8 s in;
#   inclusive.txt is perf report --children --sort sym -g none, children.txt is
#   children.py over perf script -F ip,sym.
