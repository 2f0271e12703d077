package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// make dev keeps its control plane's data (etcd's, over 100 MB, and the API server's
// certificates) in a run directory of its own in the temporary folder, and holds a
// lock on a file in it for as long as it runs. It is TMPDIR for make dev and its
// children: envtest makes its folders with os.MkdirTemp, and not all of them can be
// set (the webhook certificates' cannot). Killed with SIGKILL, it cannot remove
// the directory: its watchdog does (watchdog.go), and failing that the next make dev
// (abandoned.go). A directory whose lock can be taken is abandoned: the kernel
// releases a lock when its holder ends, however it ends, and a reused pid holds none.
//
// Who removes a run directory holds its lock while doing so; the lock file goes last.
// So a run directory without a lock file is either empty (its make dev was killed
// before making it, or is making it now) or being removed.

const (
	runDirPrefix = "registrar-operator-dev-"
	runLockName  = "make-dev.lock"
)

// runDir is this make dev's run directory, locked.
type runDir struct {
	path string
	lock *os.File
}

// newRunDir removes the run directories of killed make dev runs, then makes this
// one's, locked and watched, and makes it the temporary folder from then on.
func newRunDir() (*runDir, error) {
	removeAbandonedRunDirs(os.TempDir(), step)
	r, err := claimRunDir(os.TempDir())
	if err != nil {
		return nil, err
	}
	if err := startWatchdog(r); err != nil {
		_ = r.remove()
		return nil, err
	}
	if err := os.Setenv("TMPDIR", r.path); err != nil {
		_ = r.remove()
		return nil, fmt.Errorf("while setting TMPDIR for the control plane: %w", err)
	}
	return r, nil
}

// claimRunDir makes a run directory in parent and locks it. A starting make dev may
// remove a directory between its making and its locking (see removeIfAbandoned): then
// it makes another.
func claimRunDir(parent string) (*runDir, error) {
	var err error
	for range 3 {
		var dir *runDir
		if dir, err = tryClaimRunDir(parent); err == nil {
			return dir, nil
		}
	}
	return nil, fmt.Errorf("while making a folder for the control plane's data in %s (set TMPDIR to a writable folder with room): %w", parent, err)
}

func tryClaimRunDir(parent string) (*runDir, error) {
	path, err := os.MkdirTemp(parent, runDirPrefix+"*")
	if err != nil {
		return nil, err
	}
	// O_EXCL: the file is this run's own, never one another make dev made.
	lock, err := os.OpenFile(filepath.Join(path, runLockName), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		_ = os.Remove(path) // empty, if another make dev has not removed it
		return nil, err
	}
	if err := lockNewRunDir(lock); err != nil {
		_ = lock.Close() // the make dev that took the lock removes the directory
		return nil, err
	}
	r := &runDir{path: path, lock: lock}
	if err := r.prepare(); err != nil {
		_ = r.remove()
		return nil, err
	}
	return r, nil
}

// lockNewRunDir takes the lock of a run directory just made, unless a starting make
// dev took it first, to remove the directory as abandoned.
func lockNewRunDir(lock *os.File) error {
	held, err := tryLock(lock)
	switch {
	case err != nil:
		return fmt.Errorf("while locking %s: %w", lock.Name(), err)
	case !held:
		return errors.New("another make dev is removing it as abandoned")
	case !stillLinked(lock):
		return errors.New("another make dev removed it as abandoned")
	}
	return nil
}

// prepare writes this make dev's pid in the lock file, for the message of whoever
// removes the directory should this one be killed.
func (r *runDir) prepare() error {
	_, err := fmt.Fprintf(r.lock, "%d\n", os.Getpid())
	return err
}

// remove removes the run directory, then releases its lock.
func (r *runDir) remove() error {
	defer func() { _ = r.lock.Close() }()
	if err := removeRunDir(r.path); err != nil {
		return fmt.Errorf("while removing the control plane's data: %w; remove %s by hand", err, r.path)
	}
	return nil
}

// removeRunDir removes a run directory whose lock the caller holds, the lock file last.
func removeRunDir(path string) error {
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != runLockName {
			if err := os.RemoveAll(filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(filepath.Join(path, runLockName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Remove(path)
}

// tryLock takes the lock without waiting; false if another process holds it.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// stillLinked reports whether f is still the file at its name: whoever held its lock
// before may have removed it.
func stillLinked(f *os.File) bool {
	open, err := f.Stat()
	if err != nil {
		return false
	}
	named, err := os.Lstat(f.Name())
	return err == nil && os.SameFile(open, named)
}

// lockHolder is the pid written in a run directory's lock file: who made it.
func lockHolder(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}
