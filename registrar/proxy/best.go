package proxy

// Best returns the index of the final response a proxy forwards upstream once every
// branch answered (RFC 3261 §16.7 step 6), or -1 for none:
//   - a 2xx wins (in practice it was forwarded the moment it came);
//   - else a 6xx, the first one received (6xx means "nowhere will do");
//   - else the lowest class; within it the lowest code, but a 408 or 503 this proxy
//     may have made up for a silent or unreachable branch only when the class has
//     nothing else (a device's 486 Busy says more than another device's timeout).
//
// codes are the branches' final status codes in the order they arrived.
func Best(codes []int) int {
	best := -1
	for i, c := range codes {
		if c < 200 || c > 699 {
			continue
		}
		if best < 0 || better(c, codes[best]) {
			best = i
		}
	}
	return best
}

// better reports whether final response a beats b (see Best); ties keep b, the
// earlier one.
func better(a, b int) bool {
	ca, cb := a/100, b/100
	switch {
	case ca == 2 || cb == 2:
		return ca == 2 && cb != 2
	case ca == 6 || cb == 6:
		return ca == 6 && cb != 6
	case ca != cb:
		return ca < cb
	}
	if wa, wb := weak(a), weak(b); wa != wb {
		return wb
	}
	return a < b
}

// weak marks codes a proxy also produces itself for a branch that failed: 408,
// 503, and 430, a flow that failed (RFC 5626), which says nothing of the device.
func weak(code int) bool { return code == 408 || code == 503 || code == StatusFlowFailed }

// Upstream returns the code and reason to send upstream for a chosen final code:
// a 503 would tell the caller that this proxy is overloaded, so it becomes 500
// (RFC 3261 §16.7 step 6). A 430 Flow Failed is for the authoritative proxy
// alone, never for a caller (RFC 5626 §11.5: endpoints should never receive
// it); with no other flow of the device left it becomes 480, as a device that
// is not registered is answered.
func Upstream(code int, reason string) (int, string) {
	switch code {
	case 503:
		return 500, "Server Internal Error"
	case StatusFlowFailed:
		return 480, "Temporarily Unavailable"
	}
	return code, reason
}
