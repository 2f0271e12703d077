package location

// URI comparison after RFC 3261 §19.1.4, without allocating.
//
// For sip: and sips: URIs:
//   - the scheme and the host (and port) compare case-insensitively;
//   - the userinfo (user and password) compares case-sensitively;
//   - %HH escapes compare equal to the characters they stand for;
//   - a port present in one URI and absent from the other never matches
//     (sip:a@h does not equal sip:a@h:5060);
//   - a uri-parameter present in both must match (name and value case-insensitive,
//     in any order); a user, ttl, method, maddr or transport parameter present in
//     only one never matches (transport after the RFC's own examples); any other
//     parameter present in only one is ignored (so ";ob" coming and going does not
//     make a new binding);
//   - header components (?h=v) must be present in both and match.
//
// Not done: IPv6 textual forms are compared as text ([::1] differs from [0::1]),
// and host names are not resolved. Other schemes (tel:, urn:, ...) compare the
// scheme case-insensitively and the rest byte for byte.
//
// Because parameters present in only one URI are ignored, the relation is not
// transitive: sip:a@h equals both sip:a@h;x=1 and sip:a@h;x=2, which differ from
// each other. The table always takes the first matching binding.

// URIEqual reports whether two Contact URIs (without angle brackets or display
// names) name the same binding.
func URIEqual(a, b string) bool {
	if a == b {
		return true
	}
	sa, ra, oka := cutByte(a, ':')
	sb, rb, okb := cutByte(b, ':')
	if !oka || !okb || !asciiEqualFold(sa, sb) {
		return false
	}
	if !isSIPScheme(sa) {
		return ra == rb
	}
	ua, ha, pa, xa := splitSIP(ra)
	ub, hb, pb, xb := splitSIP(rb)
	if !escEqual(ua, ub, false) || !escEqual(ha, hb, true) {
		return false
	}
	if pa != pb && !paramsEqual(pa, pb) {
		return false
	}
	if xa != xb && !headersEqual(xa, xb) {
		return false
	}
	return true
}

func isSIPScheme(s string) bool {
	return asciiEqualFold(s, "sip") || asciiEqualFold(s, "sips")
}

// splitSIP splits what follows "sip:" into userinfo (without '@'), hostport,
// parameters (without the leading ';') and headers (without the leading '?').
// The user part may itself hold ';' and '?', so the '@' is found first.
func splitSIP(s string) (userinfo, hostport, params, headers string) {
	rest := s
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			userinfo, rest = s[:i], s[i+1:]
			break
		}
	}
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		if rest[i] == ';' || rest[i] == '?' {
			end = i
			break
		}
	}
	hostport, rest = rest[:end], rest[end:]
	if len(rest) > 0 && rest[0] == ';' {
		rest = rest[1:]
		q := len(rest)
		for i := 0; i < len(rest); i++ {
			if rest[i] == '?' {
				q = i
				break
			}
		}
		params, rest = rest[:q], rest[q:]
	}
	if len(rest) > 0 && rest[0] == '?' {
		headers = rest[1:]
	}
	return userinfo, hostport, params, headers
}

// strictParam names the parameters that must be present in both URIs or in neither.
func strictParam(name string) bool {
	switch len(name) {
	case 3:
		return asciiEqualFold(name, "ttl")
	case 4:
		return asciiEqualFold(name, "user")
	case 5:
		return asciiEqualFold(name, "maddr")
	case 6:
		return asciiEqualFold(name, "method")
	case 9:
		return asciiEqualFold(name, "transport")
	}
	return false
}

func paramsEqual(pa, pb string) bool {
	return paramsCovered(pa, pb) && paramsCovered(pb, pa)
}

// paramsCovered: every parameter of pa is either in pb with an equal value (the
// first of that name) or absent from pb and not strict.
func paramsCovered(pa, pb string) bool {
	for rest := pa; rest != ""; {
		var p string
		p, rest, _ = cutByte(rest, ';')
		name, val, _ := cutByte(p, '=')
		if name == "" {
			continue
		}
		if v, ok := findParam(pb, ';', name); ok {
			if !escEqual(val, v, true) {
				return false
			}
		} else if strictParam(name) {
			return false
		}
	}
	return true
}

func headersEqual(xa, xb string) bool {
	return headersSubset(xa, xb) && headersSubset(xb, xa)
}

func headersSubset(xa, xb string) bool {
	for rest := xa; rest != ""; {
		var h string
		h, rest, _ = cutByte(rest, '&')
		name, val, _ := cutByte(h, '=')
		if name == "" {
			continue
		}
		v, ok := findParam(xb, '&', name)
		if !ok || !escEqual(val, v, true) {
			return false
		}
	}
	return true
}

// findParam looks up name (case-insensitively) in a sep-separated list of name[=value].
func findParam(list string, sep byte, name string) (string, bool) {
	for rest := list; rest != ""; {
		var p string
		p, rest, _ = cutByte(rest, sep)
		n, v, _ := cutByte(p, '=')
		if escEqual(n, name, true) {
			return v, true
		}
	}
	return "", false
}

func cutByte(s string, c byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// escEqual compares two strings, decoding %HH escapes, optionally ignoring ASCII case.
func escEqual(a, b string, fold bool) bool {
	if a == b {
		return true
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, ni := unescapeAt(a, i)
		cb, nj := unescapeAt(b, j)
		if ca != cb && (!fold || lower(ca) != lower(cb)) {
			return false
		}
		i, j = ni, nj
	}
	return i == len(a) && j == len(b)
}

func unescapeAt(s string, i int) (byte, int) {
	if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
		return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
	}
	return s[i], i + 1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
