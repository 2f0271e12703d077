package register

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// Outbound (RFC 5626) and Path (RFC 3327) in a REGISTER.
//
//   - A Contact with +sip.instance and reg-id is an outbound flow: the binding is
//     keyed by the pair (package location) and requests reach it over the flow the
//     REGISTER came on. A reg-id without +sip.instance is ignored (§6).
//   - Path lists the proxies between the device and us; it is stored with the
//     binding and becomes the route requests to it take. Only an authenticated
//     REGISTER gets here, so a Path is as trustworthy as the Contact beside it: the
//     device's own credentials vouch for both.
//   - Behind a Path, the first proxy holds the flow: it must say it can (ob in its
//     Path URI). When it does not, or when a proxy without Path stands in front of
//     us (more than one Via), the reg-id is ignored, or, when the device asked for
//     outbound, the REGISTER is refused with 439 (§6).
//   - One flow per REGISTER (§4.2.1): more than one Contact with a reg-id is 400.
//   - The 200 OK echoes each binding's +sip.instance and reg-id (clients such as
//     JsSIP drop a 200 OK without them), carries Require: outbound when the device
//     asked for outbound (Supported: outbound) and we keep its flow, with
//     Flow-Timer, and echoes Path when the device supports path (RFC 3327 §5.3).
//     Over UDP we key and route flows but do not require outbound: its keep-alive
//     is STUN, which this registrar does not answer.

// flowTimer is the Flow-Timer (seconds) of a 200 OK that requires outbound: how
// often the device proves its flow alive (RFC 5626 §4.4.1 keeps it under the
// idle timeouts of NATs and load balancers; netguard's own is far longer).
const flowTimer = 120

// maxInstanceLen and maxPathLen bound what a binding keeps and status publishes
// (the Extension CRD refuses longer values, which would fail the whole status
// write): a longer +sip.instance or Path is a 400.
const (
	maxInstanceLen = 256
	maxPathLen     = 2048
)

// regFlow is what a REGISTER says of Outbound and Path, for its 200 OK.
type regFlow struct {
	path               []string // the Path URIs, top first
	supportsOutbound   bool     // Supported: outbound
	supportsPath       bool     // Supported: path
	flows              bool     // a contact is an outbound flow
	requireOutbound    bool     // Require: outbound and Flow-Timer go in the 200
	firstHopLacksFlows bool     // 439
	severalFlows       bool     // 400: more than one Contact with a reg-id
}

// contactFlow reads a Contact's +sip.instance (without its quotes) and reg-id,
// names and values with whitespace around them as paramName reads them; ok is false for a malformed reg-id or an overlong instance.
func contactFlow(params sip.HeaderParams) (instance string, regID int32, ok bool) {
	for _, kv := range params {
		switch {
		case paramName(kv.K, "+sip.instance"):
			instance = strings.Trim(strings.TrimSpace(kv.V), `"`)
			if len(instance) > maxInstanceLen {
				return "", 0, false
			}
		case paramName(kv.K, "reg-id"):
			n, err := strconv.ParseInt(strings.TrimSpace(kv.V), 10, 32)
			if err != nil || n < 1 {
				return "", 0, false
			}
			regID = int32(n)
		}
	}
	if instance == "" {
		regID = 0 // RFC 5626 §6: a reg-id without an instance is ignored
	}
	return instance, regID, true
}

// readFlow reads Path and Supported, and decides what happens to the contacts'
// reg-ids; ok is false for a malformed or overlong Path.
func readFlow(req *sip.Request, lr *location.Request) (f regFlow, ok bool) {
	for _, h := range req.Headers() {
		switch {
		case strings.EqualFold(h.Name(), "Path"):
			for _, v := range sipparse.SplitAddressList(h.Value()) {
				var u sip.Uri
				if _, err := sip.ParseAddressValue(v, &u, nil); err != nil || u.Host == "" {
					return f, false
				}
				f.path = append(f.path, u.String())
			}
		case strings.EqualFold(h.Name(), "Supported") || h.Name() == "k":
			for t := range strings.SplitSeq(h.Value(), ",") {
				switch strings.ToLower(strings.TrimSpace(t)) {
				case "outbound":
					f.supportsOutbound = true
				case "path":
					f.supportsPath = true
				}
			}
		}
	}
	if len(f.path) > 0 {
		lr.Path = "<" + strings.Join(f.path, ">, <") + ">"
		if len(lr.Path) > maxPathLen {
			return f, false
		}
	}
	flows := 0
	for i := range lr.Contacts {
		if lr.Contacts[i].RegID > 0 {
			flows++
		}
	}
	f.flows = flows > 0
	if !f.flows {
		return f, true
	}
	// §4.2.1: a device registers one flow per REGISTER; the registrar refuses more
	// (§6) rather than pick which Contact the connection belongs to.
	if flows > 1 {
		f.severalFlows = true
		return f, true
	}
	if !firstHopKeepsFlows(req, f.path) {
		if f.supportsOutbound {
			f.firstHopLacksFlows = true
			return f, true
		}
		for i := range lr.Contacts {
			lr.Contacts[i].RegID = 0
		}
		f.flows = false
		return f, true
	}
	// Behind an edge proxy with ob, it keeps the flow and its keep-alives; without
	// Path we do, over a connection only (see above).
	f.requireOutbound = f.supportsOutbound && (len(f.path) > 0 || connectionOriented(lr.Transport))
	return f, true
}

// addFlowHeaders adds to a 200 OK what RFC 5626 and RFC 3327 ask of it.
func addFlowHeaders(res *sip.Response, f *regFlow) {
	if f.requireOutbound {
		res.AppendHeader(sip.NewHeader("Require", "outbound"))
		if len(f.path) == 0 {
			res.AppendHeader(sip.NewHeader("Flow-Timer", strconv.Itoa(flowTimer)))
		}
	}
	if f.flows || len(f.path) > 0 {
		res.AppendHeader(sip.NewHeader("Supported", "outbound, path"))
	}
	if f.supportsPath && len(f.path) > 0 {
		res.AppendHeader(sip.NewHeader("Path", "<"+strings.Join(f.path, ">, <")+">"))
	}
}

// firstHopKeepsFlows reports whether the first hop the device sent its REGISTER
// to keeps its flow (RFC 5626 §6): behind a Path, the proxy that added the top
// entry, if it put ob in it; without one, we, if we are the first hop: a REGISTER
// with more than one Via came through a proxy that did not say it can.
func firstHopKeepsFlows(req *sip.Request, path []string) bool {
	if len(path) > 0 {
		return hasOb(path[0])
	}
	vias := 0
	for _, h := range req.Headers() {
		if _, ok := h.(*sip.ViaHeader); ok {
			vias++
		}
	}
	return vias == 1
}

// hasOb reports whether a Path URI carries the ob parameter: the proxy that added
// it keeps outbound flows (RFC 5626 §5.1).
func hasOb(uri string) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	return u.UriParams.Has("ob")
}

// connectionOriented reports whether a transport keeps a connection the device's
// flow lives on (and whose double-CRLF keep-alives sipgo answers).
func connectionOriented(transport string) bool {
	switch strings.ToUpper(transport) {
	case "TCP", "TLS", "WS", "WSS":
		return true
	}
	return false
}

// supportedExtension reports whether we support a Require option tag.
func supportedExtension(tag string) bool {
	return strings.EqualFold(tag, "outbound") || strings.EqualFold(tag, "path")
}
