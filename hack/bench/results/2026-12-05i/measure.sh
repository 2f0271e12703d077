#!/bin/bash
# Session 30's runs: one 30 s step at 11,750 REGISTER+digest/s (half ours' median max
# clean rate), builds alternated. The script runs in a CPU cgroup of its own; every
# other process was moved to one with cpu.shares=3 for the duration.
#
#   measure.sh NAME "BINDIR_A BINDIR_B" RUNS
#
# BINDIR holds registrar and operator binaries (go build -o DIR/ ./cmd/registrar
# ./cmd/operator). A prototype's knobs were environment variables, set by a wrapper
# script named registrar in its own BINDIR that execs the build, e.g.
#   GOMAXPROCS=4 KFROM=0 KREADERS=2 KTIMEOUT=5 KSKIP=1 KDROP=1 exec /tmp/b35/registrar "$@"
# for kernel-wait/kernel-* (kernel-wait2.patch), RECHECK=1 for recheck/recheck-*,
# PREARENA=1 for arena-prealloc/prealloc-* (both one-line changes, described in the
# README), and GOGC=200 for gogc/gogc200-* (gogc/default-* is the fix, 8fa6cfe).
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

# syscalls/: perf stat of the registrar over 10 s, 8 s after the step's start:
#   perf stat -e raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_{recvmmsg,sendmmsg,epoll_pwait,epoll_wait,futex,nanosleep,getsockopt} -p PID -- sleep 10
# gctrace/: the same step with GODEBUG=gctrace=1.
