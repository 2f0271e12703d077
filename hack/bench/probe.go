package main

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The probe measures response times with the resolution SIPp lacks (its clock counts
// milliseconds): beside the SIPp load, a few calls per second of its own, each timed
// from the write of a REGISTER to the arrival of its response (rxtime.go).
// It sends from its own socket with its own extensions, so it waits in the same
// socket queue as the load without disturbing it.

// user is one extension as a device knows it.
type user struct {
	Name     string // user part of the AOR
	Password string
	Domain   string // SIP domain: Request-URI, To, realm
	Object   string // Extension object name (ours)
}

// probeResult is what a probe measured.
type probeResult struct {
	challenge []time.Duration // REGISTER → 401/407
	register  []time.Duration // authenticated REGISTER → 200
	sent      []time.Time     // when each measured call began
	sendLag   []time.Duration // the probe's own delay before each call's sends (timing)
	lost      int             // no response within the timeout
	failed    int             // an unexpected answer
	lastErr   string
}

// runProbe registers users in turn at rate calls per second until ctx ends.
func runProbe(ctx context.Context, target string, users []user, rate float64) *probeResult {
	res := &probeResult{}
	if rate <= 0 || len(users) == 0 {
		return res
	}
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		res.failed++
		res.lastErr = err.Error()
		return res
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		res.failed++
		res.lastErr = err.Error()
		return res
	}
	defer func() { _ = conn.Close() }()
	if err := stampArrivals(conn); err != nil {
		res.failed++
		res.lastErr = "while asking for arrival stamps: " + err.Error()
		return res
	}
	if err := stampSends(conn); err != nil {
		res.failed++
		res.lastErr = "while asking for send stamps: " + err.Error()
		return res
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	buf := make([]byte, 65536)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return res
		case <-t.C:
		}
		u := users[i%len(users)]
		began := time.Now()
		t, err := registerTimed(conn, buf, u, time.Second)
		switch {
		case errors.Is(err, errLost):
			res.lost++
			res.lastErr = err.Error()
		case err != nil:
			res.failed++
			res.lastErr = err.Error()
		default:
			res.challenge = append(res.challenge, t.challenge)
			res.register = append(res.register, t.register)
			res.sendLag = append(res.sendLag, t.sendLag)
			res.sent = append(res.sent, began)
		}
	}
}

var errLost = errors.New("no response")

// sipResponse is the little of a response the probe reads.
type sipResponse struct {
	code      int
	callID    string
	cseq      string
	challenge string // WWW-Authenticate or Proxy-Authenticate value (first, MD5 preferred)
	proxy     bool   // the challenge was Proxy-Authenticate
}

// device is a SIP phone's registration state: one Call-ID for all its REGISTERs,
// CSeq counting up (RFC 3261 §10.2.4), as a real phone refreshes.
type device struct {
	u       user
	callID  string
	tag     string
	cseq    int
	expires int
	// transport is the Via transport (UDP when empty: TLS, WSS, ...) and, in lower
	// case, the Contact's transport parameter (ws for WSS, as RFC 7118 has it).
	transport string
}

func newDevice(u user) *device {
	return &device{u: u, callID: randHex(12) + "@bench", tag: randHex(6), expires: 3600}
}

// request builds the next REGISTER from local (host:port); auth is a ready
// "Authorization: ..." line or "".
func (d *device) request(local, auth string) []byte {
	d.cseq++
	u := d.u
	var b strings.Builder
	b.Grow(512)
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", u.Domain)
	via, param := "UDP", "udp"
	switch d.transport {
	case "":
	case "WS", transportWSS:
		via, param = d.transport, "ws"
	default:
		via, param = d.transport, strings.ToLower(d.transport)
	}
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n", via, local, randHex(8))
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", u.Name, u.Domain, d.tag)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", u.Name, u.Domain)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", d.callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", d.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=%s>\r\n", u.Name, local, param)
	fmt.Fprintf(&b, "Expires: %d\r\n", d.expires)
	b.WriteString(auth)
	b.WriteString("User-Agent: bench\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// registerOnce does one challenged registration with a new Call-ID. It fails unless
// the answers are 401/407 and then 200 OK.
func registerOnce(conn net.Conn, buf []byte, u user, timeout time.Duration) error {
	_, err := registerTimed(conn, buf, u, timeout)
	return err
}

// timing is what registerTimed measured of one registration.
type timing struct {
	challenge, register time.Duration
	// sendLag is the longer of the two waits between reading the clock before a
	// write and the kernel's send stamp (0 without stamps): the probe's own delay,
	// which the round trips leave out.
	sendLag time.Duration
}

// registerTimed is registerOnce, timing both transactions, and the probe's own send
// delay: each round trip runs from the kernel's send stamp when the socket asked for
// them (stampSends), else from just before the write.
func registerTimed(conn net.Conn, buf []byte, u user, timeout time.Duration) (timing, error) {
	var t timing
	local := conn.LocalAddr().String()
	d := newDevice(u)
	exchange := func(msg []byte) (sipResponse, time.Duration, error) {
		cseq := d.cseq
		start := time.Now().Round(0) // the wall clock, as the kernel's arrival stamps
		if _, err := conn.Write(msg); err != nil {
			return sipResponse{}, 0, err
		}
		deadline := start.Add(timeout)
		// A stamp from before the clock was read is an earlier write's, come late.
		if at, ok := sendStamp(conn); ok && !at.Before(start) {
			t.sendLag = max(t.sendLag, at.Sub(start))
			start = at
		}
		var oob [128]byte
		for {
			_ = conn.SetReadDeadline(deadline)
			n, arrived, err := readStamped(conn, buf, oob[:])
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return sipResponse{}, 0, fmt.Errorf("%w to CSeq %d within %s", errLost, cseq, timeout)
				}
				return sipResponse{}, 0, err
			}
			took := arrived.Sub(start)
			r, ok := parseResponse(buf[:n])
			// A late answer to an earlier, timed-out request is skipped.
			if !ok || r.callID != d.callID || r.cseq != strconv.Itoa(cseq)+" REGISTER" || r.code < 200 {
				continue
			}
			return r, took, nil
		}
	}
	r, ch, err := exchange(d.request(local, ""))
	if err != nil {
		return t, err
	}
	t.challenge = ch
	if r.code != 401 && r.code != 407 {
		return t, fmt.Errorf("REGISTER answered %d, want 401 or 407", r.code)
	}
	auth, err := digestAnswer(r, u, "sip:"+u.Domain)
	if err != nil {
		return t, err
	}
	r, reg, err := exchange(d.request(local, auth))
	if err != nil {
		return t, err
	}
	if r.code != 200 {
		return t, fmt.Errorf("authenticated REGISTER of %s@%s answered %d", u.Name, u.Domain, r.code)
	}
	t.register = reg
	return t, nil
}

func parseResponse(data []byte) (sipResponse, bool) {
	var r sipResponse
	head, _, _ := strings.Cut(string(data), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "SIP/2.0 ") {
		return r, false
	}
	code, err := strconv.Atoi(strings.Fields(lines[0])[1])
	if err != nil {
		return r, false
	}
	r.code = code
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			r.callID = value
		case "cseq":
			r.cseq = value
		case "www-authenticate", "proxy-authenticate":
			alg := strings.ToUpper(digestParams(value)["algorithm"])
			if r.challenge == "" || (alg == "" || alg == "MD5") && !isMD5(r.challenge) {
				r.challenge = value
				r.proxy = strings.EqualFold(strings.TrimSpace(name), "proxy-authenticate")
			}
		}
	}
	return r, true
}

func isMD5(challenge string) bool {
	alg := strings.ToUpper(digestParams(challenge)["algorithm"])
	return alg == "" || alg == "MD5"
}

// digestParams splits `Digest a="x", b=y` into its parameters.
func digestParams(v string) map[string]string {
	out := map[string]string{}
	v = strings.TrimSpace(v)
	if len(v) >= 6 && strings.EqualFold(v[:6], "digest") {
		v = v[6:]
	}
	for len(v) > 0 {
		v = strings.TrimLeft(v, " ,\t")
		eq := strings.IndexByte(v, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(v[:eq]))
		v = strings.TrimLeft(v[eq+1:], " \t")
		var val string
		if strings.HasPrefix(v, `"`) {
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				val, v = v[1:], ""
			} else {
				val, v = v[1:1+end], v[2+end:]
			}
		} else {
			end := strings.IndexByte(v, ',')
			if end < 0 {
				val, v = v, ""
			} else {
				val, v = v[:end], v[end:]
			}
		}
		out[key] = strings.TrimSpace(val)
	}
	return out
}

// digestAnswer computes the Authorization (401) or Proxy-Authorization (407) header
// line for an MD5 challenge, with qop=auth when offered.
func digestAnswer(r sipResponse, u user, uri string) (string, error) {
	if r.challenge == "" {
		return "", errors.New("challenge without WWW-Authenticate or Proxy-Authenticate")
	}
	p := digestParams(r.challenge)
	if !isMD5(r.challenge) {
		return "", fmt.Errorf("no MD5 challenge in %q", r.challenge)
	}
	ha1 := md5hex(u.Name + ":" + p["realm"] + ":" + u.Password)
	ha2 := md5hex("REGISTER:" + uri)
	cnonce, nc := randHex(8), "00000001"
	var resp, qopPart string
	if strings.Contains(p["qop"], "auth") {
		resp = md5hex(ha1 + ":" + p["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
		qopPart = fmt.Sprintf(", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce)
	} else {
		resp = md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
	}
	header := "Authorization"
	if r.proxy {
		header = "Proxy-Authorization"
	}
	line := fmt.Sprintf("%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5%s",
		header, u.Name, p["realm"], p["nonce"], uri, resp, qopPart)
	if op, ok := p["opaque"]; ok {
		line += fmt.Sprintf(", opaque=\"%s\"", op)
	}
	return line + "\r\n", nil
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// percentile returns the q-quantile (0..1) of ds in milliseconds, NaN when empty.
func percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

// writeCSV saves every measured call (when it began, both round trips, and the
// probe's own delay before its sends, left out of them), so that a tail can be
// placed in time: beside the server's GC trace, or SIPp's bursts.
func (r *probeResult) writeCSV(path string) error {
	var b strings.Builder
	b.WriteString("unix_ms,challenge_ms,register_ms,send_lag_ms\n")
	for i := range r.sent {
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f,%.3f\n", float64(r.sent[i].UnixMicro())/1000,
			r.challenge[i].Seconds()*1000, r.register[i].Seconds()*1000, r.sendLag[i].Seconds()*1000)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
