package guard

import (
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RefusalReason is the reason phrase of the 403 a refused source gets.
const RefusalReason = "Too Many Failed Attempts"

// AddRetryAfter tells a refused source when to try again: whole seconds, rounded up
// so that a retry at the advertised time is not refused, and at least one.
func AddRetryAfter(res *sip.Response, after time.Duration) {
	secs := max(int64((after+time.Second-1)/time.Second), 1)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.FormatInt(secs, 10)))
}
