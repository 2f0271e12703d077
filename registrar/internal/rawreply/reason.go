package rawreply

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// ShortBodyReason is the 400's reason for a body shorter than its Content-Length.
// RFC 3261 §18.3: a datagram (or a WebSocket message, RFC 7118 §5.1) that ends
// before the body its Content-Length names is an error, a request's to answer 400;
// a longer one is cut at the Content-Length, as sipgo does.
const ShortBodyReason = "Body Shorter Than Content-Length"

// Reason is the reason phrase of the 400 to data, a request sipgo's parser refused
// with err: a body shorter than its Content-Length, else the header line to blame
// (HeaderReason). ok is false when there is nothing to answer with.
func Reason(data []byte, err error) (reason string, ok bool) {
	if ShortBody(data, err) {
		return ShortBodyReason, true
	}
	return HeaderReason(data)
}

// ShortBody tells whether err says data's body is shorter than its
// Content-Length: sipgo reads no more than the message holds, or, when the
// Content-Length goes past the largest message it takes, refuses it as too large
// (data itself is not).
func ShortBody(data []byte, err error) bool {
	return errors.Is(err, sip.ErrParseReadBodyIncomplete) ||
		errors.Is(err, sip.ErrMessageTooLarge) && len(data) <= sip.ParseMaxMessageLength
}
