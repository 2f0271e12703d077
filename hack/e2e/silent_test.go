//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// silence is how long the silent phone waits after its REGISTER before it is called:
// longer than conntrack remembers a replied UDP flow (120 s) and than the issue's
// three minutes. E2E_SILENCE changes it.
func silence() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("E2E_SILENCE")); err == nil {
		return d
	}
	return 3*time.Minute + 10*time.Second
}

const silentPort = 15400

// The silent phone registers from outside right after the install and is called by
// the last tests, so the other tests run while it is silent.
var silentPhone struct {
	registered time.Time
	id, target string
	wait       func() error
	cmd        *exec.Cmd // killed with the cluster when no test took its call
}

func stopSilentPhone() {
	if p := silentPhone.cmd; p != nil && p.Process != nil {
		_ = p.Process.Kill()
	}
}

func startSilentPhone(t *testing.T) {
	t.Helper()
	dir := filepath.Join(c.dir, "silent-phone")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target, id := nodePort(t), fmt.Sprintf("silent-%d@e2e", time.Now().UnixNano())
	cmd, _, report := sippIn(dir, c.outside, 15*time.Minute, "phone.xml", target, silentPort, "-cid_str", id)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	silentPhone.cmd = cmd
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b := registeredFrom(t, c.outside, silentPort)
	t.Logf("silent phone registered through %s at %s; source %s", target, time.Now().Format(time.TimeOnly), b.Source)
	silentPhone.registered, silentPhone.id, silentPhone.target = time.Now(), id, target
	silentPhone.wait = func() error {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%w: %s", err, report())
			}
			return nil
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			return fmt.Errorf("the phone did not end within a minute of its call: %s", report())
		}
	}
}
