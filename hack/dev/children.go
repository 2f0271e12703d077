package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// shipped is one of the shipped binaries (cmd/operator, cmd/registrar) that make dev
// runs as a child process, so that it runs with the defaults production runs with.
type shipped struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// shippedBinary is the path of a shipped binary: make dev builds them into binDir
// beside hack/dev's own.
func shippedBinary(binDir, name string) (string, error) {
	path := filepath.Join(binDir, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no %s binary at %s (make dev builds it: go build -o %s/ ./cmd/%s): %w", name, path, binDir, name, err)
	}
	return path, nil
}

// startShipped starts bin with args, its output going to log. It runs in a process
// group of its own, so that a terminal's Ctrl-C reaches make dev alone, which stops
// its children in order; and with a parent-death signal, so that a killed make dev
// takes it along (init locks the goroutine that forks to the main thread, see
// parentdeath_linux.go).
func startShipped(name, bin string, args []string, log io.Writer) (*shipped, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("while starting the %s: %w", name, err)
	}
	s := &shipped{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	return s, nil
}

// stop sends SIGTERM, the shutdown a pod gets, and waits for the exit; after the
// grace period it kills. It returns the exit error of a process that did not end well.
func (s *shipped) stop(grace time.Duration) error {
	if s == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			return fmt.Errorf("the %s exited after SIGTERM: %s", s.name, exit.ProcessState)
		}
		return err
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		return fmt.Errorf("the %s did not stop within %s after SIGTERM; killed", s.name, grace)
	}
}

// ended says that the process ended on its own, with how (err from done).
func (s *shipped) ended(err error) error {
	if err == nil {
		return fmt.Errorf("the %s stopped on its own", s.name)
	}
	return fmt.Errorf("the %s stopped on its own: %w", s.name, err)
}

// exited reports whether the process has ended, without waiting.
func (s *shipped) exited() (bool, error) {
	select {
	case err := <-s.done:
		s.done <- err
		return true, err
	default:
		return false, nil
	}
}
