//go:build e2e

package e2e

import (
	"errors"
	"os"
	"strings"
)

// The machine outside the cluster that phones run on: a network namespace joined to
// the node by a veth pair, routed through the node as a LAN behind a router would be.
const (
	outsideNetns  = "e2e-outside"
	outsideVeth   = "e2e-out0"
	outsidePeer   = "e2e-out1"
	outsideGW     = "192.168.250.1"
	outsidePhone  = "192.168.250.2"
	outsidePrefix = "/30"
)

// addOutside creates the outside machine. It runs before containerd starts: the first
// `ip netns add` on a machine turns /run/netns into a mount of its own, which would
// hide the network namespaces of pods created before it (their removal then fails
// with "device or resource busy" and pod deletion hangs).
func addOutside() (host, error) {
	steps := [][]string{
		{"netns", "add", outsideNetns},
		{"link", "add", outsideVeth, "type", "veth", "peer", "name", outsidePeer},
		{"link", "set", outsidePeer, "netns", outsideNetns},
		{"addr", "add", outsideGW + outsidePrefix, "dev", outsideVeth},
		{"link", "set", outsideVeth, "up"},
		{"-n", outsideNetns, "addr", "add", outsidePhone + outsidePrefix, "dev", outsidePeer},
		{"-n", outsideNetns, "link", "set", outsidePeer, "up"},
		{"-n", outsideNetns, "link", "set", "lo", "up"},
		{"-n", outsideNetns, "route", "add", "default", "via", outsideGW},
	}
	for _, step := range steps {
		if _, err := run("ip", step...); err != nil {
			return host{}, err
		}
	}
	return host{ip: outsidePhone, netns: outsideNetns}, nil
}

// removeOutside deletes the outside machine and, when the run made /run/netns a mount
// (wasMount false), undoes that too.
func removeOutside(wasMount bool) error {
	var errs []error
	if _, err := os.Stat("/sys/class/net/" + outsideVeth); err == nil {
		_, err := run("ip", "link", "delete", outsideVeth)
		errs = append(errs, err)
	}
	if _, err := os.Stat("/run/netns/" + outsideNetns); err == nil {
		_, err := run("ip", "netns", "delete", outsideNetns)
		errs = append(errs, err)
	}
	if !wasMount && isMountPoint("/run/netns") {
		_, err := run("umount", "/run/netns")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isMountPoint(path string) bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) > 4 && fields[4] == path {
			return true
		}
	}
	return false
}
