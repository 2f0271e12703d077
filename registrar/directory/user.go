package directory

import (
	"net/url"
	"strings"
)

// CanonicalUser is the user part of a SIP URI as extensions and AORs are named: its
// escapes decoded, as RFC 3261 §19.1.4 makes "%31001" and "1001" the same user and
// §10.3 step 5 canonicalises the AOR. Without an escape it is user itself, not a
// copy. An escape that is not "%" HEXDIG HEXDIG (§25.1) is an error.
func CanonicalUser(user string) (string, error) {
	if strings.IndexByte(user, '%') < 0 {
		return user, nil
	}
	return url.PathUnescape(user)
}
