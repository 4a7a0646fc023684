package graph

import "strings"

// Envoy writes response_flags as every flag it set on the stream, comma-joined ("UF,URX"), or
// "-" for none. Each request is counted once: the destination's report when it got there,
// plus what only the source's proxy saw. So the question asked of a source report is whether
// the destination's proxy ever received (and reported) that request.
//
// notForwarded are the flags that say it did not: the source's proxy answered or gave up
// before any attempt was taken in by the destination's proxy.
var notForwarded = map[string]bool{
	"UH": true, // no healthy upstream: no host to send to
	"UF": true, // upstream connection failure: no connection was made
	"UO": true, // upstream overflow (circuit breaking): never sent
	"NR": true, // no route: never sent
	"NC": true, // no cluster: never sent
	// UC: the connection closed with no answer. The destination's proxy answers every request
	// it takes in, so this one it never took (mTLS mismatch, a connection it was closing).
	"UC":   true,
	"FI":   true, // aborted by fault injection, which the source's proxy applies
	"RL":   true, // rate limited locally by the source's proxy
	"RLSE": true, // rate limit service error: rejected by the source's proxy
	"UAEX": true, // denied by the source's external authorization
	"IH":   true, // invalid request headers: rejected before routing
	"DPE":  true, // the caller's request was not valid HTTP: never forwarded
	"NFCF": true, // no filter configuration: rejected locally
	"RFCF": true, // answered from the source's cache
	"OM":   true, // shed by the source's overload manager
	"DF":   true, // DNS resolution failed: no address to send to
	"DO":   true, // dropped by drop_overloads before a host was picked
	"LH":   true, // a health check the proxy answered itself
}

// The other flags say the request reached the destination's proxy, which reported it, or say
// nothing either way (then the destination's report stands, and counting the source's too
// would count the request twice):
//   - URX (retry limit reached): each attempt that reached the destination is one of its
//     reports; alone it means the last attempt was answered there. With a flag above
//     (UF,URX: the last attempt could not connect) the request is the source's alone.
//   - UT, LR, UR, UPE, UMSDR, SI, DT: timed out, reset or cut while at the destination.
//   - DI: delayed, then forwarded. DC, DR: the caller went away, wherever the request was.

// forwarded reports whether the request of a source report with these flags reached the
// destination's proxy (see notForwarded).
func forwarded(flags string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if notForwarded[strings.TrimSpace(f)] {
			return false
		}
	}
	return true
}

// hasFlag reports whether flag is one of the comma-joined flags.
func hasFlag(flags, flag string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if strings.TrimSpace(f) == flag {
			return true
		}
	}
	return false
}
