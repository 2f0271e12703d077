package registrar

import (
	"bytes"
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

// A phone that closes its connection while a transaction on it is ending makes
// sipgo warn that the connection's reference count went negative: routine, so at
// debug, where it is still there for whoever debugs connections.
func TestSipgoClosedConnectionWarningsAreDebugOnly(t *testing.T) {
	var warn, debug bytes.Buffer
	atWarn := funcr.New(func(_, args string) { warn.WriteString(args + "\n") }, funcr.Options{Verbosity: 0})
	atDebug := funcr.New(func(_, args string) { debug.WriteString(args + "\n") }, funcr.Options{Verbosity: 10})
	for _, msg := range []string{"TCP ref went negative", "WS ref went negative", "UDP ref went negative on try close"} {
		sipgoLogger(atWarn).Warn(msg, "ip", "127.0.0.1:5060", "ref", -1)
		sipgoLogger(atDebug).Warn(msg, "ip", "127.0.0.1:5060", "ref", -1)
		if !strings.Contains(debug.String(), msg) {
			t.Errorf("%q is not logged at debug:\n%s", msg, debug.String())
		}
	}
	if warn.Len() != 0 {
		t.Fatalf("a closed connection's reference count logged as a warning:\n%s", warn.String())
	}
	// Other warnings stay warnings.
	sipgoLogger(atWarn).Warn("connection pool not clean cleanup", "error", "x")
	if !strings.Contains(warn.String(), "connection pool not clean cleanup") {
		t.Fatalf("another sipgo warning was lowered too:\n%s", warn.String())
	}
}
