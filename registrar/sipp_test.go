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
	Transport string // "udp", "tcp" or "tls"
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
	// TLS is SIPp's -tls_* arguments, over TLS (sippTLSArgs).
	TLS []string
	// Trace, when set, is the file SIPp writes every message it sends and
	// receives to.
	Trace string
}

// run plays the scenario once and returns SIPp's output when it fails.
func (s sippRun) run(t *testing.T) error {
	t.Helper()
	mode := map[string]string{"udp": "u1", "tcp": "t1", "tls": "l1"}[s.Transport]
	sipp := sippFor(t, mode)
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
	if s.Trace != "" {
		args = append(args, "-trace_msg", "-message_file", s.Trace)
	}
	args = append(args, s.TLS...)
	cmd := exec.CommandContext(ctx, sipp, append(args, host+":"+port)...)
	cmd.Dir = "."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		errs, _ := exec.Command("cat", filepath.Join(dir, "errors.log")).Output()
		return fmt.Errorf("sipp %s over %s: %w\n%s\n%s", s.Scenario, s.Transport, err, testenv.LastLines(out.String(), 15), errs)
	}
	return nil
}

// sippFor is the SIPp that plays transport mode: Debian bookworm's SIPp 3.6.1,
// whose behaviour the other tests cite, for UDP and TCP, and the one built with
// TLS (bin/sipp-tls, Debian trixie's 3.7.3) for TLS (l1, ln).
func sippFor(t *testing.T, mode string) string {
	t.Helper()
	if mode != "l1" && mode != "ln" {
		return "sipp"
	}
	p, err := testenv.SIPpTLS()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sippTLSArgs are SIPp's TLS arguments: it verifies the registrar's certificate
// chain with caFile (-tls_ca; SIPp 3.7.3 does not check the name or address the
// certificate is for: one for 127.0.0.2 from the same CA passes), speaks TLS
// version ("1.2", "1.3"; "" negotiates), and has a certificate and key of its
// own, which SIPp loads even as a client.
func sippTLSArgs(t *testing.T, caFile, version string) []string {
	t.Helper()
	certFile, keyFile, err := newCert(t, 100).Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-tls_ca", caFile, "-tls_cert", certFile, "-tls_key", keyFile}
	if version != "" {
		args = append(args, "-tls_version", version)
	}
	return args
}

// freePort returns a loopback port free for both UDP and TCP, and never the same one
// twice in a test binary.
func freePort(t *testing.T) int {
	t.Helper()
	ports, err := testenv.FreePorts("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
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
