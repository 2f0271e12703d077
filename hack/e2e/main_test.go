//go:build e2e

// Package e2e runs the operator from its image, installed with the Helm chart, on a
// single-node Kubernetes started on this machine, and checks as a user would that SIP
// phones register and are called through the registrar's Service. `make e2e` builds
// what it needs and runs it; `go test ./...` leaves it out (build tag e2e).
package e2e

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// The cluster every test uses, and what make e2e hands over.
var (
	c        *cluster
	image    = os.Getenv("E2E_IMG") // the operator's image reference, as the chart names it
	helm     = os.Getenv("HELM")    // bin/helm
	stopOnce sync.Once
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	images := strings.Fields(os.Getenv("E2E_IMAGES")) // tarballs: the pause image, then ours
	if os.Getenv("E2E_ASSETS") == "" || len(images) == 0 || image == "" || helm == "" {
		fmt.Fprintln(os.Stderr, "run through make e2e: E2E_ASSETS, E2E_IMAGES, E2E_IMG and HELM must be set")
		return 2
	}
	dir, err := os.MkdirTemp("", "registrar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c = &cluster{dir: dir, assets: os.Getenv("E2E_ASSETS")}
	stop := func() {
		stopOnce.Do(func() {
			stopSilentPhone()
			if err := c.stop(); err != nil {
				fmt.Fprintln(os.Stderr, "while stopping the cluster:", err)
				code = 1
			}
		})
	}
	defer stop()
	// An interrupted run still stops the cluster.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		fmt.Fprintln(os.Stderr, "interrupted: stopping the cluster")
		stop()
		os.Exit(1)
	}()

	fmt.Fprintf(os.Stderr, "starting a single-node cluster in %s (logs in %s)\n", dir, c.path("logs"))
	if err := startCluster(c, images); err != nil {
		fmt.Fprintln(os.Stderr, "the cluster did not start:", err)
		return 1
	}
	return m.Run()
}

// root is the repository, for the chart and the samples.
var root = testenv.Root()

func chart() string { return filepath.Join(root, "charts", "registrar-operator") }
