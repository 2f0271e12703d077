package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// holdRunDirEnv, set to a folder, makes this test binary a stand-in make dev: it claims
// a run directory there, as make dev does, prints its path and holds it until its
// standard input closes.
const holdRunDirEnv = "DEV_TEST_HOLD_RUN_DIR_IN"

// As the next make dev starts, the run directory of one killed with SIGKILL goes, and
// that of one still running stays, whatever the order; nothing that a make dev did not
// make is touched: another program's folder of the same prefix, a link to a run
// directory, a file.
func TestAbandonedRunDirsGoAndLiveOnesStay(t *testing.T) {
	if parent := os.Getenv(holdRunDirEnv); parent != "" {
		holdRunDir(t, parent)
		return
	}
	parent := t.TempDir()
	live := startRunDirHolder(t, parent)
	killed := startRunDirHolder(t, parent)
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = killed.cmd.Wait()

	foreign := filepath.Join(parent, runDirPrefix+"foreign")
	writeFile(t, filepath.Join(foreign, "data"))
	// A link to a folder that looks like an abandoned run directory: not one to follow.
	target := t.TempDir()
	writeFile(t, filepath.Join(target, runLockName))
	writeFile(t, filepath.Join(target, "data"))
	if err := os.Symlink(target, filepath.Join(parent, runDirPrefix+"link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(parent, runDirPrefix+"file"))

	var reports []string
	removeAbandonedRunDirs(parent, func(s string) { reports = append(reports, s) })

	if _, err := os.Lstat(killed.dir); err == nil {
		t.Errorf("the run directory of a make dev killed with SIGKILL is still there: %s", killed.dir)
	}
	if len(reports) != 1 || !strings.Contains(reports[0], "removed "+killed.dir) || !strings.Contains(reports[0], "pid "+strconv.Itoa(killed.cmd.Process.Pid)) {
		t.Errorf("reports %q; want one, that %s of pid %d was removed", reports, killed.dir, killed.cmd.Process.Pid)
	}
	for _, kept := range []string{filepath.Join(live.dir, "data"), filepath.Join(foreign, "data"), filepath.Join(target, "data"),
		filepath.Join(target, runLockName), filepath.Join(parent, runDirPrefix+"link"), filepath.Join(parent, runDirPrefix+"file")} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("removed what it should have kept: %v", err)
		}
	}
}

// runDirHolder is a stand-in make dev holding a run directory.
type runDirHolder struct {
	cmd *exec.Cmd
	dir string
}

// startRunDirHolder starts a stand-in make dev in parent and waits until it holds its
// run directory; it ends with the test.
func startRunDirHolder(t *testing.T, parent string) *runDirHolder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAbandonedRunDirsGoAndLiveOnesStay$")
	cmd.Env = append(os.Environ(), holdRunDirEnv+"="+parent)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	// Its first line is the directory, printed once it holds it.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the stand-in make dev printed no run directory: %v", err)
	}
	return &runDirHolder{cmd: cmd, dir: strings.TrimSpace(line)}
}

// holdRunDir is the stand-in make dev: it claims a run directory in parent, puts data
// in it, prints its path and holds it until its standard input closes.
func holdRunDir(t *testing.T, parent string) {
	r, err := claimRunDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.path, "data"))
	_, _ = os.Stdout.WriteString(r.path + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := r.remove(); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes a file of a few bytes, making its folder.
func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
