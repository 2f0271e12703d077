package wsserve

import (
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"
)

// errClosed is a connection the peer closed with a Close frame.
var errClosed = errors.New("the peer closed the WebSocket")

// protocolError is a frame RFC 6455 forbids: the connection fails with a Close of
// code.
type protocolError struct {
	code   ws.StatusCode
	reason string
}

func (e *protocolError) Error() string { return fmt.Sprintf("WebSocket %d: %s", e.code, e.reason) }

// frameReader reads a client's frames (RFC 6455 §5) and returns whole messages:
// fragments joined, payloads unmasked, control frames handed to onControl.
type frameReader struct {
	r io.Reader
	// max bounds a message's payload.
	max int
	// onControl is told of each ping and pong (Close ends next with errClosed).
	onControl func(op ws.OpCode, payload []byte) error
	// closeCode and closeReason are what the peer's Close said, once it came.
	closeCode   ws.StatusCode
	closeReason string
}

// next returns the next data message, text or binary (RFC 7118 §5.3 allows both).
func (f *frameReader) next() ([]byte, error) {
	var msg []byte
	fragmented := false
	for {
		h, err := ws.ReadHeader(f.r)
		if err != nil {
			if errors.Is(err, io.EOF) && fragmented {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, readError(err)
		}
		if err := check(h, fragmented); err != nil {
			return nil, err
		}
		if h.OpCode.IsControl() {
			payload, err := f.payload(h, nil)
			if err != nil {
				return nil, err
			}
			if h.OpCode == ws.OpClose {
				f.closeCode, f.closeReason = ws.ParseCloseFrameData(payload)
				return nil, errClosed
			}
			if err := f.onControl(h.OpCode, payload); err != nil {
				return nil, err
			}
			continue
		}
		if int64(len(msg))+h.Length > int64(f.max) {
			return nil, &protocolError{code: ws.StatusMessageTooBig, reason: fmt.Sprintf("a message over %d bytes", f.max)}
		}
		if msg, err = f.payload(h, msg); err != nil {
			return nil, err
		}
		if h.Fin {
			return msg, nil
		}
		fragmented = true
	}
}

// payload appends h's payload, unmasked, to dst.
func (f *frameReader) payload(h ws.Header, dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, h.Length)...)
	if _, err := io.ReadFull(f.r, dst[start:]); err != nil {
		return nil, readError(err)
	}
	ws.Cipher(dst[start:], h.Mask, 0)
	return dst, nil
}

// check applies RFC 6455's rules for a frame from a client, with no extension
// negotiated.
func check(h ws.Header, fragmented bool) error {
	fail := func(reason string) error { return &protocolError{code: ws.StatusProtocolError, reason: reason} }
	switch {
	case h.Rsv != 0:
		return fail("reserved bits set")
	case !h.Masked:
		return fail("an unmasked frame from a client")
	case h.OpCode.IsControl() && (!h.Fin || h.Length > ws.MaxControlFramePayloadSize):
		return fail("a fragmented or oversized control frame")
	case h.OpCode.IsControl():
		if h.OpCode != ws.OpClose && h.OpCode != ws.OpPing && h.OpCode != ws.OpPong {
			return fail("a reserved opcode")
		}
	case h.OpCode == ws.OpContinuation && !fragmented:
		return fail("a continuation with nothing to continue")
	case h.OpCode != ws.OpContinuation && fragmented:
		return fail("a new message inside a fragmented one")
	case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
		return fail("a reserved opcode")
	}
	return nil
}

// readError turns a short read mid-frame into io.ErrUnexpectedEOF, and an
// impossible length into a protocol error.
func readError(err error) error {
	switch {
	case errors.Is(err, ws.ErrHeaderLengthMSB), errors.Is(err, ws.ErrHeaderLengthUnexpected):
		return &protocolError{code: ws.StatusProtocolError, reason: err.Error()}
	}
	return err
}
