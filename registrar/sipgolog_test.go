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
