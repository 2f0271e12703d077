package udpfront

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// wireWriter renders responses into a reader's reused buffer. It writes what sipgo's
// Response.StringWrite writes, byte for byte, for the headers a REGISTER's response
// carries, without what that costs per response: a string per status code and port
// (strconv.Itoa), one per URI with parameters (HeaderParams.ToString), and a parse
// error per host name (sipgo asks net.ParseIP of every URI host whether it is IPv6).
// Any other header is written by sipgo itself.
type wireWriter struct{ b []byte }

// WriteString makes the writer an io.StringWriter for the headers sipgo writes.
func (w *wireWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// response replaces the buffer's contents with res.
func (w *wireWriter) response(res *sip.Response) []byte {
	w.b = w.b[:0]
	if res.CompactHeaders {
		res.StringWrite(w)
		return w.b
	}
	w.b = append(w.b, res.SipVersion...)
	w.b = append(w.b, ' ')
	w.b = strconv.AppendInt(w.b, int64(res.StatusCode), 10)
	w.b = append(w.b, ' ')
	w.b = append(w.b, res.Reason...)
	w.b = append(w.b, "\r\n"...)
	headers := res.Headers()
	for _, h := range headers {
		w.header(h)
		w.b = append(w.b, "\r\n"...)
	}
	if len(headers) == 0 {
		w.b = append(w.b, "\r\n"...) // sipgo ends even an empty header list with a line
	}
	w.b = append(w.b, "\r\n"...)
	return append(w.b, res.Body()...)
}

func (w *wireWriter) header(h sip.Header) {
	switch h := h.(type) {
	case *sip.ViaHeader:
		w.name(h)
		w.b = append(w.b, h.ProtocolName...)
		w.b = append(w.b, '/')
		w.b = append(w.b, h.ProtocolVersion...)
		w.b = append(w.b, '/')
		w.b = append(w.b, h.Transport...)
		w.b = append(w.b, ' ')
		w.host(h.Host)
		if h.Port > 0 {
			w.b = append(w.b, ':')
			w.b = strconv.AppendInt(w.b, int64(h.Port), 10)
		}
		w.params(';', h.Params, true)
	case *sip.FromHeader:
		w.name(h)
		w.nameAddress(h.DisplayName, &h.Address, h.Params)
	case *sip.ToHeader:
		w.name(h)
		w.nameAddress(h.DisplayName, &h.Address, h.Params)
	case *sip.ContactHeader:
		w.name(h)
		if h.Address.Wildcard {
			w.b = append(w.b, '*')
			return
		}
		w.nameAddress(h.DisplayName, &h.Address, h.Params)
	case *sip.CallIDHeader:
		w.name(h)
		w.b = append(w.b, *h...)
	case *sip.CSeqHeader:
		w.name(h)
		w.b = strconv.AppendUint(w.b, uint64(h.SeqNo), 10)
		w.b = append(w.b, ' ')
		w.b = append(w.b, h.MethodName...)
	case *sip.ContentLengthHeader:
		w.name(h)
		w.b = strconv.AppendUint(w.b, uint64(*h), 10)
	default:
		// Generic headers (Date, Contact values, challenges) cost nothing through
		// sipgo; the few others are rare in a REGISTER's response.
		h.StringWrite(w)
	}
}

func (w *wireWriter) name(h sip.Header) {
	w.b = append(w.b, h.Name()...)
	w.b = append(w.b, ": "...)
}

// nameAddress writes From, To and Contact values: always in angle brackets, as
// sipgo does.
func (w *wireWriter) nameAddress(display string, u *sip.Uri, params sip.HeaderParams) {
	if display != "" {
		w.b = append(w.b, '"')
		w.b = append(w.b, display...)
		w.b = append(w.b, `" `...)
	}
	w.b = append(w.b, '<')
	w.uri(u)
	w.b = append(w.b, '>')
	w.params(';', params, true)
}

func (w *wireWriter) uri(u *sip.Uri) {
	if u.Scheme == "" {
		w.b = append(w.b, "sip"...)
	} else {
		w.b = append(w.b, u.Scheme...)
	}
	w.b = append(w.b, ':')
	if raw := u.Raw(); raw != "" {
		w.b = append(w.b, raw...)
		return
	}
	if u.HierarhicalSlashes {
		w.b = append(w.b, "//"...)
	}
	if u.User != "" {
		w.b = append(w.b, u.User...)
		if u.Password != "" {
			w.b = append(w.b, ':')
			w.b = append(w.b, u.Password...)
		}
		w.b = append(w.b, '@')
	}
	w.host(u.Host)
	if u.Port > 0 {
		w.b = append(w.b, ':')
		w.b = strconv.AppendInt(w.b, int64(u.Port), 10)
	}
	w.params(';', u.UriParams, true)
	if len(u.Headers) > 0 {
		w.b = append(w.b, '?')
		w.params('&', u.Headers, false)
	}
}

// host writes a host, bracketed when it is an IPv6 address, as sipgo's uriIP
// does (net.ParseIP: no zone, and an IPv4-mapped address is IPv4).
func (w *wireWriter) host(host string) {
	if strings.IndexByte(host, ':') >= 0 && strings.IndexByte(host, '%') < 0 {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
			w.b = append(w.b, '[')
			w.b = append(w.b, host...)
			w.b = append(w.b, ']')
			return
		}
	}
	w.b = append(w.b, host...)
}

// params writes parameters as sipgo's HeaderParams.ToStringWrite does, after sep
// when lead is set: a value holding a space or tab is quoted.
func (w *wireWriter) params(sep byte, params sip.HeaderParams, lead bool) {
	for i, kv := range params {
		if i > 0 || lead {
			w.b = append(w.b, sep)
		}
		w.b = append(w.b, kv.K...)
		switch {
		case kv.V == "":
		case strings.ContainsAny(kv.V, " \t"):
			w.b = append(w.b, `="`...)
			w.b = append(w.b, kv.V...)
			w.b = append(w.b, '"')
		default:
			w.b = append(w.b, '=')
			w.b = append(w.b, kv.V...)
		}
	}
}
