package registrar_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
)

// sippProc is one SIPp process playing a phone in a call test; several run at once.
type sippProc struct {
	name string
	out  bytes.Buffer
	errs string
	done chan error
}

// startSIPp starts scenario (under testdata/sipp) once over UDP from 127.0.0.1
// against target, with the extra arguments (keys, credentials, -cid_str, -d).
func startSIPp(t *testing.T, scenario, target string, args ...string) *sippProc {
	t.Helper()
	return startSIPpOver(t, "u1", scenario, target, args...)
}

// startSIPpOver is startSIPp over a SIPp transport: u1 (UDP), t1 (one TCP
// connection) or l1 (one TLS connection; give it sippTLSArgs).
func startSIPpOver(t *testing.T, transport, scenario, target string, args ...string) *sippProc {
	t.Helper()
	dir := t.TempDir()
	p := &sippProc{name: scenario, errs: filepath.Join(dir, "errors.log"), done: make(chan error, 1)}
	all := append([]string{
		"-sf", filepath.Join("testdata", "sipp", scenario),
		"-t", transport, "-i", "127.0.0.1", "-m", "1", "-nostdin",
		"-timeout", "30s", "-timeout_error",
		"-trace_err", "-error_file", p.errs,
	}, args...)
	all = append(all, target)
	sipp := sippFor(t, transport)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	cmd := exec.CommandContext(ctx, sipp, all...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting sipp %s: %v", scenario, err)
	}
	go func() { p.done <- cmd.Wait(); cancel() }()
	return p
}

// wait returns nil when the scenario completed, else what SIPp said.
func (p *sippProc) wait() error {
	if err := <-p.done; err != nil {
		errs, _ := exec.Command("cat", p.errs).Output()
		return fmt.Errorf("sipp %s: %w\n%s\n%s", p.name, err, testenv.LastLines(p.out.String(), 20), testenv.LastLines(string(errs), 60))
	}
	return nil
}

// phone is a SIPp scenario that registers user, then takes a call, against replica r.
func (tn *tenant) phone(t *testing.T, r *registrar.Replica, scenario, callID string, ringMS int) *sippProc {
	udp, _ := r.Addresses()
	return startSIPp(t, scenario, udp,
		"-au", tn.user, "-ap", tn.password, "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", tn.user, "-key", "expires", "600",
		"-cid_str", callID, "-d", strconv.Itoa(ringMS))
}

// caller is a SIPp scenario calling callee@domain through replica r.
func (tn *tenant) caller(t *testing.T, r *registrar.Replica, scenario, callID, callee string) *sippProc {
	udp, _ := r.Addresses()
	return startSIPp(t, scenario, udp, "-key", "domain", tn.domain, "-key", "callee", callee, "-cid_str", callID)
}

// callID is a Call-ID shared by the phones and the caller of one test: SIPp maps
// the INVITE a registered phone receives to its scenario by Call-ID.
func callID(t *testing.T) string {
	return fmt.Sprintf("%s-%d@proxy.test", t.Name(), time.Now().UnixNano())
}
