#!/bin/bash
# How the runs in this folder were made (session 29). Each script ran in a CPU cgroup
# of its own (fg); every other process was moved to an idle one (cpu.idle=1).
# bin/bench built from the commit named in the README; /tmp/bNN holds bin/registrar
# and bin/operator built from it. One 30 s step at 11,750 REGISTER+digest/s: half of
# ours' median max clean rate in the last fair comparison (2026-12-05e).
step() { bin/bench --skip-build --bin-dir "$1" --out "$2" --rates 11750 --step-duration 30s --half-rate=false --cpu-rate 0 "${@:3}"; }

# same-rate/: ours and Kamailio (2 workers) alternating, three times each.
for i in 1 2 3; do
  step /tmp/b29 out/ours-$i
  step /tmp/b29 out/kam-$i --vs kamailio --no-ours --kamailio-children 2
done

# queue-wait/, slice/base-N: ours with the queue-wait histogram (sip.csv's last column).
step /tmp/b30 out/ours-1

# slice/slice-N: ours with a 100 µs EEVDF slice on every thread (sched_setattr,
# SCHED_OTHER, sched_runtime=100000, re-applied every 0.5 s), alternating with base-N.

# batch/: batch8-N is bin/registrar built with batchSlots = 8 (registrar/udpfront/front.go)
# instead of 32, alternating with batch32-N.

# adaptive-procs/: default-N alternating with off-N (--registrar-args=--adaptive-procs=false).

# sched/: perf sched record -a -- sleep 8, 12 s after the warm-up, then
#   perf sched latency --sort max   (latency.txt)
# for ours, Kamailio (2 workers) and ours with --registrar-env GOMAXPROCS=1.

# gc/: --registrar-env GODEBUG=gctrace=1; start.txt is /proc/stat's btime and the
# registrar's start time in clock ticks (/proc/PID/stat field 22), gc.txt each
# collection's wall-clock start (ms) and duration, matched against probe.csv.

# pinned/: bench and everything else on CPU 0 (taskset 1), the registrar's threads
# on CPU 1 (taskset -a -p 2, re-applied every 0.5 s). The registrar started on CPU 0's
# affinity, so it saw one CPU and stayed on one P.

# send-lag/: probe.csv's send_lag_ms, the probe's own delay between reading the clock
# and its REGISTER leaving (the kernel's send stamp).
