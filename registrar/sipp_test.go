package registrar_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// sippRun is one SIPp run of a scenario against a registrar.
type sippRun struct {
	Scenario  string // file under testdata/sipp
	Transport string // "udp" or "tcp"
	Target    string // host:port of the registrar
	LocalIP   string
	// LocalPort is the port SIPp sends from, and so the Contact it registers: runs
	// that must refresh or remove the same binding share one. 0 lets SIPp choose
	// (5060 when free, which another SIP server on the machine may hold).
	LocalPort int
	User      string
	Domain    string
	Password  string
	Expires   int
}

// run plays the scenario once and returns SIPp's output when it fails.
func (s sippRun) run(t *testing.T) error {
	t.Helper()
	mode := map[string]string{"udp": "u1", "tcp": "t1"}[s.Transport]
	host, port, _ := net.SplitHostPort(s.Target)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{
		"-sf", filepath.Join("testdata", "sipp", s.Scenario),
		"-t", mode, "-i", s.LocalIP,
		"-m", "1", "-nostdin", "-timeout", "15s", "-timeout_error", "-recv_timeout", "5s",
		"-au", s.User, "-ap", s.Password, "-auth_uri", s.Domain, // SIPp prefixes sip:
		"-key", "domain", s.Domain, "-key", "user", s.User, "-key", "expires", strconv.Itoa(s.Expires),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
	}
	if s.LocalPort != 0 {
		args = append(args, "-p", strconv.Itoa(s.LocalPort))
	}
	cmd := exec.CommandContext(ctx, "sipp", append(args, host+":"+port)...)
	cmd.Dir = "."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		errs, _ := exec.Command("cat", filepath.Join(dir, "errors.log")).Output()
		return fmt.Errorf("sipp %s over %s: %w\n%s\n%s", s.Scenario, s.Transport, err, testenv.LastLines(out.String(), 15), errs)
	}
	return nil
}

// freePort returns a loopback port free for both UDP and TCP.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			_ = pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// freePortAndNext returns a port free for UDP and TCP whose next port is free for
// TCP too: baresip listens for TLS on its sip_listen port plus one.
func freePortAndNext(t *testing.T) int {
	t.Helper()
	for range 20 {
		port := freePort(t)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1)); err == nil {
			_ = l.Close()
			return port
		}
	}
	t.Fatal("no free pair of ports")
	return 0
}
