package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// One SIPp process reads one UDP datagram per turn of its event loop, after running
// up to 1,000 calls that are due (new calls among them): past about 15,000
// registrations a second (60,000 datagrams in and out) on this machine it cannot
// read its answers as fast as it places calls, however fast the server answers;
// its own socket overflows, it retransmits, and the step collapses at SIPp's end
// (hack/bench/README.md, overload). The steps therefore split the load over
// several SIPp processes, each with its own share of the devices, its own port and
// socket, the same way for every server measured.

// sippRatePerProcess is the rate one SIPp process is given at most when the split
// is automatic (--overload).
const sippRatePerProcess = 15000

// defaultSippProcesses is how many SIPp processes share each step's load unless
// --sipp-processes says: for the overload steps, one per sippRatePerProcess of the
// highest; for a search, one per core and at least two, since two servers on two
// cores already answer more than one SIPp reads (on this machine both passed
// 19,500/s with two, where one SIPp stopped the search at 15,000–16,000/s).
func defaultSippProcesses(overload bool, rates []float64) int {
	if overload {
		return max(1, int(math.Ceil(slices.Max(rates)/sippRatePerProcess)))
	}
	return max(2, runtime.NumCPU())
}

// sippSplit is how a run's devices are split over its SIPp processes: process k
// sends from ports[k] as the devices of users[k], every step and the warm-up
// alike, so that each device keeps one contact (one binding) for the whole run.
type sippSplit struct {
	users []string // -inf file per process
	ports []int
}

// splitUsers writes n users files, device i in file i mod n.
func splitUsers(usersFile string, n int) ([]string, error) {
	if n <= 1 {
		return []string{usersFile}, nil
	}
	b, err := os.ReadFile(usersFile)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	parts := make([][]string, n)
	for i, l := range lines[1:] { // the first line is SIPp's order (SEQUENTIAL)
		parts[i%n] = append(parts[i%n], l)
	}
	var out []string
	for k, p := range parts {
		path := strings.TrimSuffix(usersFile, ".csv") + fmt.Sprintf("-%d.csv", k)
		body := lines[0] + "\n" + strings.Join(p, "\n") + "\n"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return nil, fmt.Errorf("while writing SIPp's users file %d: %w", k, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// newSippSplit splits usersFile over n processes and picks each one's port.
func newSippSplit(usersFile string, n int) (sippSplit, error) {
	users, err := splitUsers(usersFile, n)
	if err != nil {
		return sippSplit{}, err
	}
	s := sippSplit{users: users}
	for range users {
		port, err := freePort()
		if err != nil {
			return s, err
		}
		s.ports = append(s.ports, port)
	}
	return s, nil
}

// run runs r as len(s.users) SIPp processes at once, each with its share of the
// rate, the calls and the limit, in r.Dir/sippK (r.Dir itself for one), and adds
// up what they report. Elapsed is the longest; response times are taken over all.
func (s sippSplit) run(ctx context.Context, r sippRun) (sippStats, error) {
	n := len(s.users)
	if n == 1 {
		r.Users, r.LocalPort = s.users[0], s.ports[0]
		return r.run(ctx)
	}
	stats := make([]sippStats, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		part := r
		part.Users, part.LocalPort = s.users[k], s.ports[k]
		part.Dir = filepath.Join(r.Dir, fmt.Sprintf("sipp%d", k))
		part.Rate = r.Rate / float64(n)
		part.Calls = share(r.Calls, n, k)
		part.Limit = max(share(r.Limit, n, k), 1)
		wg.Go(func() { stats[k], errs[k] = part.run(ctx) })
	}
	wg.Wait()
	var sum sippStats
	for k, st := range stats {
		if errs[k] != nil {
			return sum, fmt.Errorf("SIPp process %d of %d: %w", k+1, n, errs[k])
		}
		sum.Created += st.Created
		sum.Successful += st.Successful
		sum.Failed += st.Failed
		sum.Retrans += st.Retrans
		sum.TimeoutOnRecv += st.TimeoutOnRecv
		sum.MaxUDPRetrans += st.MaxUDPRetrans
		sum.Unexpected += st.Unexpected
		sum.DeadCall += st.DeadCall
		sum.OutOfCall += st.OutOfCall
		sum.Elapsed = max(sum.Elapsed, st.Elapsed)
		sum.CPU += st.CPU
		if st.ExitCode != 0 {
			sum.ExitCode = st.ExitCode
		}
	}
	if r.RTT {
		var dirs []string
		for k := range n {
			dirs = append(dirs, filepath.Join(r.Dir, fmt.Sprintf("sipp%d", k)))
		}
		readRTT(dirs, &sum)
	}
	return sum, nil
}

// share is process k's part of total split n ways, the remainder to the first.
func share(total, n, k int) int {
	q := total / n
	if k < total%n {
		q++
	}
	return q
}
