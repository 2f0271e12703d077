package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// removeAbandonedRunDirs removes the run directories in parent that no running make
// dev holds: those of runs killed before they could remove them (watchdog and all).
// It reports each one it removed, or could not.
func removeAbandonedRunDirs(parent string, report func(string)) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		report(fmt.Sprintf("could not look for the data of killed make dev runs in %s: %v", parent, err))
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), runDirPrefix) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		pid, size, err := removeIfAbandoned(path)
		switch {
		case err != nil:
			report(fmt.Sprintf("could not remove %s, the data of an earlier make dev: %v; remove it by hand once that make dev has ended", path, err))
		case size >= 0:
			report(fmt.Sprintf("removed %s (%s), the data of make dev pid %d, which was killed", path, megabytes(size), pid))
		}
	}
}

// removeIfAbandoned removes path if it is a run directory of this user's that no
// running make dev holds, and returns the pid that made it and its size; a size of
// -1 when it removed nothing. It never follows a symbolic link, and removes only
// what a make dev made: a directory with its lock file, or an empty one.
func removeIfAbandoned(path string) (pid int, size int64, err error) {
	if !isOwnDirectory(path) {
		return 0, -1, nil
	}
	lock, err := os.OpenFile(filepath.Join(path, runLockName), os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		// A make dev killed before making its lock file, or making it now (it then
		// makes another directory): either way, only an empty directory goes, and
		// there is nothing to tell.
		_ = os.Remove(path)
		return 0, -1, nil
	}
	if err != nil {
		return 0, -1, err
	}
	defer func() { _ = lock.Close() }()
	held, err := tryLock(lock)
	if err != nil || !held || !stillLinked(lock) {
		return 0, -1, err // a live run's, or just removed by another make dev
	}
	size = directorySize(path)
	return lockHolder(lock), size, removeRunDir(path)
}

// isOwnDirectory reports whether path is a directory, not a link to one, of this user's.
func isOwnDirectory(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// directorySize is the size of the files under path, as far as it can be read.
func directorySize(path string) int64 {
	var size int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	return size
}

func megabytes(n int64) string { return fmt.Sprintf("%d MB", (n+500_000)/1_000_000) }
