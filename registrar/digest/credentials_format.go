package digest

// AppendTo appends c rendered as an Authorization header value, the inverse of
// ParseCredentials; test clients and probes use it. Empty fields are left out;
// algorithm, qop and nc go unquoted as RFC 7616 §3.4 wants when they are tokens.
// There is deliberately no String method: a logged response lets anyone holding the
// log guess the password offline.
func (c Credentials) AppendTo(b []byte) []byte {
	b = append(b, "Digest "...)
	b = appendParam(b, "username", c.Username, false)
	b = appendParam(b, "realm", c.Realm, false)
	b = appendParam(b, "nonce", c.Nonce, false)
	b = appendParam(b, "uri", c.URI, false)
	b = appendParam(b, "response", c.Response, false)
	b = appendParam(b, "algorithm", c.Algorithm, true)
	b = appendParam(b, "cnonce", c.CNonce, false)
	b = appendParam(b, "opaque", c.Opaque, false)
	b = appendParam(b, "qop", c.QOP, true)
	b = appendParam(b, "nc", c.NC, true)
	return b
}

func appendParam(b []byte, name, val string, token bool) []byte {
	if val == "" {
		return b
	}
	if b[len(b)-1] != ' ' {
		b = append(b, ", "...)
	}
	b = append(b, name...)
	b = append(b, '=')
	if token && isUnquotedValue(val) {
		return append(b, val...)
	}
	return appendQuoted(b, val)
}
