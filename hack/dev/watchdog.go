package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

// make dev's watchdog removes its run directory as soon as make dev is gone, killed
// with SIGKILL too, which make dev cannot catch. It is this program again, called by
// watchdogName, in a process group of its own and without a parent-death signal, so
// that it outlives make dev. It waits for the run directory's lock, which the kernel
// releases when make dev ends however it ends, then removes what is left and exits.
// Should it be killed too, the next make dev removes the directory.
const watchdogName = "make-dev-watchdog"

// startWatchdog starts the watchdog of the run directory, which this make dev has locked.
func startWatchdog(r *runDir) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("while finding this program to start its watchdog: %w", err)
	}
	cmd := &exec.Cmd{Path: self, Args: []string{watchdogName, r.path}, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("while starting the watchdog that removes %s should make dev be killed: %w", r.path, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// runAsWatchdog, when this program was called as the watchdog, watches and exits;
// otherwise it returns at once.
func runAsWatchdog() {
	if filepath.Base(os.Args[0]) != watchdogName || len(os.Args) != 2 {
		return
	}
	// Ctrl-C and a closed terminal stop make dev, which removes its directory itself;
	// the watchdog waits for that all the same.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	path := os.Args[1]
	lock, err := os.OpenFile(filepath.Join(path, runLockName), os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		os.Exit(0) // make dev has ended, and its directory is gone
	}
	err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	for errors.Is(err, syscall.EINTR) {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	}
	if err == nil && stillLinked(lock) {
		_ = removeRunDir(path)
	}
	os.Exit(0)
}
