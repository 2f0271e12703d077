package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// A make dev killed with its watchdog (as when every process of the user's is killed)
// leaves its control plane's data in the temporary folder; the next make dev removes
// it as it starts, says so, and runs.
func TestMakeDevRemovesWhatAKilledRunLeft(t *testing.T) {
	tmpDir := t.TempDir()
	killed := startDevIn(t, tmpDir)
	plane := killed.controlPlane(t)
	watchdog := plane.pid("make-dev-watchdog")
	if watchdog <= 0 { // kill(0) would kill the test's own process group
		t.Fatalf("make dev runs no watchdog among its children %v", plane.running())
	}
	if err := syscall.Kill(watchdog, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Eventually(30*time.Second, func() error {
		if cmd, ok := plane.running()[watchdog]; ok {
			return fmt.Errorf("the watchdog (%s, pid %d) still runs after SIGKILL", cmd, watchdog)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-killed.done
	plane.gone(t, "SIGKILL")
	left := runDirs(t, tmpDir)
	if len(left) != 1 || folderSize(t, left[0]) == 0 {
		t.Fatalf("make dev killed with its watchdog left %v in %s; want its run directory, with the control plane's data", left, tmpDir)
	}

	next := startDevIn(t, tmpDir)
	if !strings.Contains(next.printed, "removed "+left[0]) {
		t.Errorf("the next make dev did not say it removed %s:\n%s", left[0], next.printed)
	}
	if now := runDirs(t, tmpDir); len(now) != 1 || now[0] == left[0] {
		t.Errorf("run directories once the next make dev runs: %v; want only its own, not %s", now, left[0])
	}
	next.stopsCleanlyOn(t, syscall.SIGTERM, "SIGTERM")
}

// runDirs lists make dev's run directories in tmpDir.
func runDirs(t *testing.T, tmpDir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(tmpDir, "registrar-operator-dev-*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// folderSize is the size of the files under dir.
func folderSize(t *testing.T, dir string) int64 {
	t.Helper()
	var size int64
	if err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return size
}
