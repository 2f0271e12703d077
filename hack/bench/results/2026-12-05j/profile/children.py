#!/usr/bin/env python3
"""Prints, for a few functions, what share of all samples each callee took under it.

usage: perf script -i perf.data -F ip,sym > stacks.txt; python3 children.py stacks.txt
"""
import collections
import sys

samples, cur = [], []
for line in open(sys.argv[1]):
    s = line.strip()
    if not s:
        if cur:
            samples.append(cur)
            cur = []
        continue
    parts = s.split(None, 1)
    cur.append(parts[1] if len(parts) > 1 else parts[0])
if cur:
    samples.append(cur)

N = len(samples)
print("samples", N)
for fn in ["runtime.findRunnable",
           "github.com/voipbin/registrar-operator/registrar/udpfront.(*Front).read.func1",
           "github.com/voipbin/registrar-operator/registrar/udpfront.(*answerer).answer",
           "github.com/voipbin/registrar-operator/registrar/register.(*Handler).handle"]:
    c = collections.Counter()
    for st in samples:  # st[0] is the leaf
        if fn in st:
            i = st.index(fn)
            c[st[i - 1] if i > 0 else "(self)"] += 1
    print("== %s %.1f%%" % (fn.split("/")[-1], 100 * sum(c.values()) / N))
    for k, v in c.most_common(10):
        print("   %5.1f%% %s" % (100 * v / N, k.split("/")[-1]))
