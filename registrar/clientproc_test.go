package registrar_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// clientProc is a real SIP client (baresip, linphonec) running headless for one
// test: its output is kept for the test to watch, and it is killed, with any
// process it started, when the test ends.
type clientProc struct {
	name string
	cmd  *exec.Cmd
	out  testenv.LockedBuffer
	// stdin stays open while the client runs: linphonec leaves at its end.
	stdin io.WriteCloser
}

// startClient runs name with args in dir, its stdin open until the test ends.
func startClient(t *testing.T, dir, name string, args ...string) *clientProc {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is missing: run hack/ensure-clients.sh (make test does)", name)
	}
	p := &clientProc{name: name, cmd: exec.Command(name, args...)}
	p.cmd.Dir = dir
	// Its home is the folder too: nothing of the user's is read or written.
	p.cmd.Env = append(os.Environ(), "HOME="+dir)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// A group of its own, so that killing it takes whatever it started too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("while starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		_ = p.stdin.Close()
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, testenv.LastLines(p.out.String(), 200))
		}
	})
	return p
}

// waitFor waits until the client's output, from offset from on, matches every one
// of the regular expressions in order; it returns the offset just past the last.
func (p *clientProc) waitFor(t *testing.T, what string, from int, patterns ...string) int {
	t.Helper()
	end := from
	eventually(t, p.name+": "+what, func() error {
		out, at := p.out.String(), from
		for _, pattern := range patterns {
			loc := regexp.MustCompile(pattern).FindStringIndex(out[at:])
			if loc == nil {
				return fmt.Errorf("nothing matches %q in its output yet", pattern)
			}
			at += loc[1]
		}
		end = at
		return nil
	})
	return end
}

// writeFiles writes each name: content pair into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
