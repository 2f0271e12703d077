package registrar

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/internal/redact"
)

// withheldAttrs are attributes sipgo fills with raw message bytes (on a parse failure,
// for instance): they may hold an Authorization header, and a hostile sender chooses
// them, so they never reach our logs.
var withheldAttrs = map[string]bool{"data": true}

// routineMessages are sipgo errors and warnings that peers cause at will and that
// need nothing from an operator: logged at debug.
//   - A WebSocket upgrade fails in sipgo only after package wsserve refused it (and
//     counted it) or the peer went away.
//   - A read error on a TCP, TLS or WebSocket connection (a reset, a deadline of
//     package netguard), or a failed answer to the peer's keep-alive, ends that
//     connection and no other; a failed TLS handshake is counted and logged by
//     package tlsserve before sipgo sees it.
//   - Closing the connection then may find it closed already.
//   - A connection's reference count goes below zero when a phone closes its
//     connection while a transaction on it has yet to end: the read loop closes
//     the connection, then the transaction lets go of it. The connection is
//     closed already and nothing leaks (sipgo's maintainer, in emiago/sipgo#34: it
//     happens when reading stopped or on a hard close).
var routineMessages = map[string]bool{
	"Fail to upgrade":                    true,
	"Read error":                         true, // TCP and TLS
	"Got TCP error":                      true, // WebSocket
	"Failed to pong keep alive":          true,
	"connection pool not clean cleanup":  true,
	"TCP ref went negative":              true,
	"WS ref went negative":               true,
	"UDP ref went negative on try close": true,
}

// sipgoLogger bridges sipgo's slog logging to logr, withholding raw message bytes and
// lowering sipgo's errors about unparsable input to debug: on the open internet they
// are routine, and each one would otherwise be an error line an attacker can flood.
func sipgoLogger(log logr.Logger) *slog.Logger {
	return slog.New(&redactingHandler{next: logr.ToSlogHandler(log)})
}

type redactingHandler struct{ next slog.Handler }

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	withheld := false
	r.Attrs(func(a slog.Attr) bool {
		withheld = withheld || withheldAttrs[a.Key]
		return !withheld
	})
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case withheldAttrs[a.Key]:
			a = slog.String(a.Key, fmt.Sprintf("<%d bytes withheld>", len(a.Value.String())))
		case withheld && a.Key == "error":
			// The parse error beside raw bytes quotes them too.
			a = slog.String(a.Key, redact.ParseError(a.Value.String()))
		}
		out.AddAttrs(a)
		return true
	})
	if (withheld || routineMessages[r.Message]) && out.Level > slog.LevelDebug {
		out.Level = slog.LevelDebug
		if !h.next.Enabled(ctx, out.Level) {
			return nil
		}
	}
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if withheldAttrs[a.Key] {
			a = slog.String(a.Key, "<withheld>")
		}
		kept = append(kept, a)
	}
	return &redactingHandler{next: h.next.WithAttrs(kept)}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name)}
}
