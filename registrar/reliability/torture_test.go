package reliability_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// tortureDir holds the RFC 4475 messages the register package's fuzz seeds already use
// (copied from sipgo's sip/testdata/torture); this package reads them in place.
var tortureDir = filepath.Join("..", "register", "testdata", "torture")

var (
	// A URI host in Contact, Route and Record-Route values.
	uriHost = regexp.MustCompile(`(?i)(sips?:)([^@;>\s,?]*@)?(\[[0-9a-f:.]+\]|[^;>:\s,?"]+)`)
	// Headers whose hosts a SIP element might send to.
	hostHeaders = map[string]bool{"contact": true, "m": true, "route": true, "record-route": true}
)

// loopbackOnly rewrites a torture message so that nothing in it points off this
// machine: every Via (v) header becomes one Via naming our own socket, and the hosts
// of Contact, Route and Record-Route become 127.0.0.1. The RFC's hosts are real
// addresses: they must never receive traffic because of a test. The registrar answers
// to the source address anyway; this is the belt to that pair of braces.
//
// A REGISTER's example.com becomes domain, so that it gets past "404 Domain Not
// Served" into the checks of RFC 3261 §10.3 and the digest parser.
func loopbackOnly(msg []byte, via, domain string) []byte {
	eol := "\r\n"
	if !bytes.Contains(msg, []byte("\r\n")) {
		eol = "\n"
	}
	head, body, found := bytes.Cut(msg, []byte(eol+eol))
	if bytes.HasPrefix(head, []byte("REGISTER ")) {
		head = bytes.ReplaceAll(head, []byte("example.com"), []byte(domain))
	}
	lines := strings.Split(string(head), eol)
	// Unfold continuation lines into their header.
	var unfolded []string
	for _, l := range lines {
		if len(unfolded) > 1 && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			unfolded[len(unfolded)-1] += " " + strings.TrimSpace(l)
			continue
		}
		unfolded = append(unfolded, l)
	}
	out := []string{unfolded[0]}
	viaDone := false
	for _, l := range unfolded[1:] {
		name, value, ok := strings.Cut(l, ":")
		key := strings.ToLower(strings.TrimSpace(name))
		switch {
		case ok && (key == "via" || key == "v"):
			if !viaDone {
				out = append(out, via)
				viaDone = true
			}
		case ok && hostHeaders[key]:
			out = append(out, name+":"+uriHost.ReplaceAllString(value, "${1}${2}127.0.0.1"))
		default:
			out = append(out, l)
		}
	}
	res := strings.Join(out, eol)
	if found {
		res += eol + eol + string(body)
	}
	return []byte(res)
}

// tortureOutcome is what one message got: an answer's status line, or nothing.
func tortureOutcome(buf []byte, n int, err error) string {
	if err != nil {
		return "dropped"
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return strings.TrimPrefix(line, "SIP/2.0 ")
}

// Every RFC 4475 torture message, valid and invalid, over UDP and over TCP, at a
// running registrar: each is answered or dropped, none takes the registrar down, and a
// valid REGISTER between any two of them is still challenged. Over TCP, a message
// whose Content-Length frames it costs nothing but itself: a REGISTER on the same
// connection after it is challenged too.
func TestTortureMessagesLeaveTheRegistrarServing(t *testing.T) {
	tn := newTenant(t, 1, 6000, 0)
	r, _ := startReplica(t, replicaConfig("replica-t", "127.0.0.1"))
	waitKnows(t, r, tn.aor("6000"))
	udp, tcp := r.Addresses()
	healthy := newUDPPhone(t, udp, "127.0.0.1", "6000", tn.domain, tn.passwords["6000"])
	defer healthy.Close()
	healthy.Timeout = 2 * time.Second

	var files []string
	for _, kind := range []string{"valid", "invalid"} {
		m, err := filepath.Glob(filepath.Join(tortureDir, kind, "*.dat"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no torture messages in %s: %v", tortureDir, err)
		}
		files = append(files, m...)
	}
	var report strings.Builder
	answered, dropped := 0, 0
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		results := map[string]string{}
		for _, transport := range []string{"udp", "tcp"} {
			var outcome string
			if transport == "udp" {
				outcome = sendTortureUDP(t, raw, udp, tn.domain, i)
			} else {
				var kept bool
				outcome, kept = sendTortureTCP(t, raw, tcp, tn.domain, i)
				if !kept && framed(raw) {
					t.Errorf("%s (%s) cost its TCP connection: a REGISTER after it got no challenge", name, outcome)
				}
			}
			results[transport] = outcome
			if strings.HasPrefix(outcome, "dropped") {
				dropped++
			} else {
				answered++
			}
			// The registrar still serves a valid REGISTER.
			res, err := healthy.Register("", 0, 600)
			if err != nil || res.StatusCode != 407 {
				t.Fatalf("after %s over %s (%s) a valid REGISTER got %v %v", name, transport, outcome, res, err)
			}
		}
		fmt.Fprintf(&report, "\n  %-24s udp: %-40s tcp: %s", name, results["udp"], results["tcp"])
	}
	// And an authenticated one, over both transports' worth of abuse.
	if _, _, err := healthy.Authenticated(600); err != nil {
		t.Fatalf("registering after the torture messages: %v", err)
	}
	t.Logf("%d torture messages × 2 transports: %d answered, %d dropped:%s", len(files), answered, dropped, report.String())
}

func sendTortureUDP(t *testing.T, raw []byte, target, domain string, i int) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	via := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-torture-udp-%d;rport", c.LocalAddr(), i)
	msg := loopbackOnly(raw, via, domain)
	addr, _ := net.ResolveUDPAddr("udp", target)
	if _, err := c.WriteTo(msg, addr); err != nil {
		return "not sent: " + err.Error()
	}
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 65535)
	n, _, err := c.ReadFrom(buf)
	return tortureOutcome(buf, n, err)
}

// sendTortureTCP sends the message on a new connection and returns what it got,
// and whether the connection still serves: a REGISTER sent after it is challenged.
func sendTortureTCP(t *testing.T, raw []byte, target, domain string, i int) (outcome string, kept bool) {
	t.Helper()
	c, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatalf("the registrar refuses TCP: %v", err)
	}
	defer c.Close()
	via := fmt.Sprintf("Via: SIP/2.0/TCP %s;branch=z9hG4bK-torture-tcp-%d;rport", c.LocalAddr(), i)
	msg := loopbackOnly(raw, via, domain)
	if _, err := c.Write(msg); err != nil {
		return "not sent: " + err.Error(), false
	}
	in := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	first, err := siptest.ReadStream(in)
	switch {
	case err == nil:
		outcome = tortureOutcome(first, len(first), nil)
	case isTimeout(err):
		outcome = "dropped"
	default:
		return "dropped (connection closed)", false
	}
	callID := fmt.Sprintf("torture-after-%d@%s", i, c.LocalAddr())
	after := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:6000@%s>;tag=t%d\r\nTo: <sip:6000@%s>\r\nCall-ID: %s\r\nCSeq: 1 REGISTER\r\n"+
		"Contact: <sip:6000@%s;transport=tcp>\r\nContent-Length: 0\r\n\r\n",
		domain, strings.Replace(via, "torture-tcp", "after-tcp", 1), domain, i, domain, callID, c.LocalAddr())
	if _, err := c.Write([]byte(after)); err != nil {
		return outcome, false
	}
	// The answer to the torture message (a second request of it, say) may come first.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		res, err := siptest.ReadStream(in)
		if err != nil {
			return outcome, false
		}
		if bytes.Contains(res, []byte(callID)) {
			return outcome, bytes.HasPrefix(res, []byte("SIP/2.0 407 "))
		}
	}
}

// framed tells whether a torture message is one a stream can be cut after (RFC 3261
// §18.3): its header section ends, and its Content-Length is a number that its body
// matches. After any other, where the next message starts is unknown.
func framed(raw []byte) bool {
	head, body, found := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !found {
		return false
	}
	length := -1
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, value, ok := strings.Cut(line, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); ok && (n == "content-length" || n == "l") {
			v, err := strconv.ParseUint(strings.TrimSpace(value), 10, 32)
			if err != nil {
				return false
			}
			length = int(v)
		}
	}
	return length == len(body)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
