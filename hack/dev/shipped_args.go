package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What make dev passes the shipped binaries is only what this machine needs: where
// the control plane is, where to listen, the certificate it made. Every other
// setting is the binary's default, the one production runs with, so that what a
// newcomer measures under make dev is what production does (an in-process copy once
// ran the registrar without its UDP receive buffer, clean to a third of the rate).

// operatorArgs are the operator's flags under make dev.
func operatorArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--registrar-namespace=" + registrarNS,
		// No kubelet runs here: make dev runs the registrar itself, so its Deployment has no pods.
		"--registrar-replicas=0",
		// The endpoint a kubelet probes; its default, :8081 on every interface, would
		// only clash with another server on this machine.
		"--health-probe-bind-address=0",
	}
}

// registrarArgs are the registrar's flags under make dev.
func registrarArgs(kubeconfig, sipAddr, metricsAddr string, tls tlsFiles, ws wsListeners) []string {
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--namespace=" + registrarNS, "--name=registrar-dev",
		"--sip-address=" + sipAddr,
		"--metrics-bind-address=" + metricsAddr,
		"--health-probe-bind-address=0",
	}
	if tls.CertFile != "" {
		args = append(args, "--tls-cert-file="+tls.CertFile, "--tls-key-file="+tls.KeyFile)
	}
	if tls.Address != "" {
		args = append(args, "--sip-tls-address="+tls.Address)
	}
	if ws.Address != "" {
		args = append(args, "--sip-ws-address="+ws.Address)
	}
	if ws.SecureAddress != "" {
		args = append(args, "--sip-wss-address="+ws.SecureAddress)
	}
	if ws.Address != "" || ws.SecureAddress != "" {
		args = append(args, "--ws-allowed-origins="+strings.Join(ws.AllowedOrigins, ","))
	}
	return args
}

// shippedBinaries finds bin/operator and bin/registrar: in binDir, by default the
// folder of this program, where make dev builds all three.
func shippedBinaries(binDir string) (operator, registrar string, err error) {
	if binDir == "" {
		self, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("while finding this program: %w", err)
		}
		binDir = filepath.Dir(self)
	}
	if operator, err = shippedBinary(binDir, "operator"); err != nil {
		return "", "", err
	}
	registrar, err = shippedBinary(binDir, "registrar")
	return operator, registrar, err
}

// waitSamplePublished waits until the registrar serves the sample's credentials (the
// only Extension here, so its registrar_credentials gauge is 1), or a child ended.
func waitSamplePublished(ctx context.Context, metricsAddr string, children ...*shipped) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for {
		for _, c := range children {
			if done, err := c.exited(); done {
				return c.ended(err)
			}
		}
		n, err := credentials("http://" + metricsAddr + "/metrics")
		switch {
		case err != nil:
			last = err
		case n >= 1:
			return nil
		default:
			last = errors.New("the registrar knows no credential yet")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("while waiting for the registrar to serve the sample extension: %w", last)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// credentials reads the registrar_credentials gauge.
func credentials(url string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "registrar_credentials "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("no registrar_credentials in its metrics")
}
