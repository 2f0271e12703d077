package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// comparison measures the servers in turns, round after round, so that a slow
// stretch of this shared machine falls on both: in each round ours, then Kamailio.
// Kamailio's worker counts are swept in the first round; the best of them (the
// highest max clean rate) is measured in the others, so its figures have one round
// from the sweep. Each turn starts its server afresh.
type comparison struct {
	o         sipOptions
	sys       *system // ours, nil with --no-ours
	usersFile string
	users     []user
	probes    []user
	csv       string
	results   []stepResult
}

func (c *comparison) run(ctx context.Context) error {
	best := c.o.kamChildren[0]
	for round := 1; round <= c.o.rounds; round++ {
		if c.sys != nil {
			if err := c.ours(ctx, round); err != nil {
				return err
			}
		}
		if c.o.vs != kamailioName {
			continue
		}
		sweep := []int{best}
		if round == 1 {
			sweep = c.o.kamChildren
		}
		bestRateSeen := -1.0
		for _, n := range sweep {
			rate, err := c.kamailio(ctx, round, n)
			if err != nil {
				return err
			}
			if round == 1 && rate > bestRateSeen {
				best, bestRateSeen = n, rate
			}
		}
		if round == 1 && len(sweep) > 1 {
			step(fmt.Sprintf("Kamailio's best in the sweep: %s; the next rounds measure it", workers(best)))
		}
	}
	return nil
}

// ours measures our registrar in one round: a new registrar process, beside the
// control plane and operator that the whole run shares.
func (c *comparison) ours(ctx context.Context, round int) error {
	c.sys.freeze(false)
	c.sys.regLog = filepath.Join(c.o.out, fmt.Sprintf("registrar-round%d.log", round))
	if err := c.sys.startRegistrar(ctx); err != nil {
		return err
	}
	defer c.sys.registrar.stop()
	if err := c.sys.waitCredentials(ctx, len(c.users)+len(c.probes), 5*time.Minute); err != nil {
		return err
	}
	t := ourTarget(c.sys)
	t.round = round
	_, err := c.steps(ctx, t)
	return err
}

// kamailio measures Kamailio with n UDP workers in one round, with our system
// stopped (SIGSTOP), and returns its max clean rate.
func (c *comparison) kamailio(ctx context.Context, round, n int) (float64, error) {
	c.sys.freeze(true)
	defer c.sys.freeze(false)
	t := &target{name: kamailioName, config: workers(n), round: round}
	dir := filepath.Join(c.o.out, fmt.Sprintf("round%d", round), t.dir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	k, err := startKamailio(ctx, dir, append(append([]user{}, c.users...), c.probes...),
		kamailioOptions{Children: n, ShmMB: 256, PkgMB: 16, ReceiveBuffer: c.o.rcvBuf, CPUs: c.o.serverCPUs})
	if err != nil {
		return 0, err
	}
	defer k.stop()
	t = kamailioTarget(k)
	t.config, t.round = workers(n), round
	return c.steps(ctx, t)
}

// steps runs one turn's steps and records them (sip.csv is written after each turn).
func (c *comparison) steps(ctx context.Context, t *target) (float64, error) {
	o := c.o
	o.out = filepath.Join(c.o.out, fmt.Sprintf("round%d", t.round))
	step(fmt.Sprintf("round %d of %d: %s", t.round, c.o.rounds, seriesName(t.name, t.config)))
	res, err := searchRates(ctx, t, o, c.usersFile, c.probes)
	c.results = append(c.results, res...)
	writeCSV(c.csv, c.results)
	return bestRate(res), err
}

func workers(n int) string { return fmt.Sprintf("%d workers", n) }

// freeze stops (SIGSTOP) or continues (SIGCONT) the operator and the control plane,
// so that another server measured meanwhile has the machine to itself.
func (s *system) freeze(stopped bool) {
	if s == nil {
		return
	}
	sig := syscall.SIGCONT
	if stopped {
		sig = syscall.SIGSTOP
	}
	for _, pid := range append(s.controlPlanePIDs(), s.operator.pid()) {
		_ = syscall.Kill(pid, sig)
	}
}
