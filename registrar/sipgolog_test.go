package registrar

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// sipgo logs the raw bytes of a message it cannot parse; they may carry credentials.
func TestSipgoLoggerWithholdsRawMessages(t *testing.T) {
	var out bytes.Buffer
	sink := funcr.New(func(prefix, args string) { out.WriteString(args + "\n") }, funcr.Options{Verbosity: 10})
	log := sipgoLogger(sink)
	secret := `REGISTER sip:x SIP/2.0` + "\r\n" + `Authorization: Digest username="1001", response="6629fae49393a05397450978507c4ef1"`
	// sipgo's parse errors quote the line they stopped at.
	log.Error("failed to parse", "data", secret, "error", fmt.Sprintf("field name with no value in header: %q", secret))
	log.With("data", secret).Info("with attrs")
	if strings.Contains(out.String(), "6629fae4") || strings.Contains(out.String(), "Authorization") {
		t.Fatalf("raw message reached the log:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "bytes withheld") {
		t.Fatalf("the withheld attribute is not marked:\n%s", out.String())
	}
}

func TestSipgoParseErrorsAreDebugOnly(t *testing.T) {
	var out bytes.Buffer
	sink := funcr.New(func(prefix, args string) { out.WriteString(args + "\n") }, funcr.Options{Verbosity: 0})
	sipgoLogger(sink).Error("failed to parse", "data", "garbage", "error", "bad start line")
	sipgoLogger(sink).Error("Fail to upgrade", "error", "EOF")
	if out.Len() != 0 {
		t.Fatalf("a parse failure or a refused upgrade logged at error level:\n%s", out.String())
	}
}

// A phone that resets its connection, or closes it while a transaction on it is
// ending, makes sipgo log an error or warn that the connection's reference count
// went negative: routine, so at debug, where it is still there for whoever debugs
// connections.
func TestSipgoClosedConnectionMessagesAreDebugOnly(t *testing.T) {
	var warn, debug bytes.Buffer
	atWarn := funcr.New(func(_, args string) { warn.WriteString(args + "\n") }, funcr.Options{Verbosity: 0})
	atDebug := funcr.New(func(_, args string) { debug.WriteString(args + "\n") }, funcr.Options{Verbosity: 10})
	reset := errors.New("read tcp 127.0.0.1:5060->127.0.0.1:40000: read: connection reset by peer")
	closed := errors.New("close tcp 127.0.0.1:5061->127.0.0.1:40001: use of closed network connection")
	for _, m := range []struct {
		msg  string
		args []any
	}{
		{"Read error", []any{"error", reset}},
		{"Got TCP error", []any{"error", reset}},
		{"Failed to pong keep alive", []any{"error", reset}},
		{"connection pool not clean cleanup", []any{"error", closed}},
		{"TCP ref went negative", []any{"ip", "127.0.0.1:5060", "ref", -1}},
		{"WS ref went negative", []any{"ip", "127.0.0.1:5060", "ref", -1}},
		{"UDP ref went negative on try close", []any{"src", "127.0.0.1:5060", "ref", -1}},
	} {
		sipgoLogger(atWarn).Error(m.msg, m.args...)
		sipgoLogger(atDebug).Warn(m.msg, m.args...)
		if !strings.Contains(debug.String(), m.msg) {
			t.Errorf("%q is not logged at debug:\n%s", m.msg, debug.String())
		}
	}
	if warn.Len() != 0 {
		t.Fatalf("a closed connection logged as a warning or an error:\n%s", warn.String())
	}
	// Other errors stay errors.
	sipgoLogger(atWarn).Error("Failed to accept connection", "error", "too many open files")
	if !strings.Contains(warn.String(), "Failed to accept connection") {
		t.Fatalf("another sipgo error was lowered too:\n%s", warn.String())
	}
}
