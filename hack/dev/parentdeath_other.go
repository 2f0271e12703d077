//go:build !linux

package main

import (
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// guardControlPlane changes nothing where there is no parent-death signal: only a
// caught signal stops the control plane there.
func guardControlPlane(string) (func(*envtest.Environment), error) {
	return func(*envtest.Environment) {}, nil
}

func execGuarded() {}

// childAttrs start a shipped binary in a process group of its own.
func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
