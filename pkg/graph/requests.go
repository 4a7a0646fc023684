package graph

import (
	"math"
	"strings"

	"github.com/prometheus/common/model"
)

// noUpstream are Envoy response flags of requests that never reached a destination proxy
// (no healthy upstream, no route, no cluster, upstream connection failure or overflow): only
// the source reports them.
var noUpstream = map[string]bool{"UH": true, "NR": true, "NC": true, "UF": true, "UO": true, "URX": true}

// tally is what one reporter saw of an edge.
type tally struct {
	total, serverErrors, clientErrors, denied, mtls float64
	unreached                                       float64 // source only: never reached a destination
	unreachedErrors                                 float64
}

// requestTallies are the requests of each edge, by reporter: destination (the server's
// sidecar), waypoint (ambient mode: it reports for the server), source (the client's sidecar).
type requestTallies map[string]map[key]*tally

func tallyRequests(vector model.Vector, note func(key)) requestTallies {
	t := requestTallies{"destination": {}, "waypoint": {}, "source": {}}
	for _, sample := range vector {
		v := float64(sample.Value)
		if math.IsNaN(v) || v == 0 {
			continue
		}
		byReporter, ok := t[string(sample.Metric["reporter"])]
		if !ok {
			continue
		}
		k := keyOf(sample.Metric)
		note(k)
		tt := byReporter[k]
		if tt == nil {
			tt = &tally{}
			byReporter[k] = tt
		}
		tt.add(sample.Metric, v)
	}
	return t
}

func (t *tally) add(m model.Metric, v float64) {
	code := string(m["response_code"])
	t.total += v
	failed := code == "0" || strings.HasPrefix(code, "5")
	if failed {
		t.serverErrors += v
	}
	if strings.HasPrefix(code, "4") {
		t.clientErrors += v
	}
	if code == "403" {
		t.denied += v
	}
	if m["connection_security_policy"] == "mutual_tls" {
		t.mtls += v
	}
	if noUpstream[string(m["response_flags"])] || code == "0" {
		t.unreached += v
		if failed {
			t.unreachedErrors += v
		}
	}
}

// edge counts each request once: the server side's report (its sidecar's, else the
// waypoint's) when there is one, plus what only the source saw (requests that never reached
// the server); the source's alone otherwise.
func (t requestTallies) edge(k key) *Edge {
	e := &Edge{Source: k.src, Destination: k.dst, Protocol: k.protocol}
	d, w, s := t["destination"][k], t["waypoint"][k], t["source"][k]
	var server *tally
	switch {
	case d != nil && d.total > 0:
		server, e.Reporter = d, "destination"
	case w != nil && w.total > 0:
		server, e.Reporter = w, "waypoint"
	}
	var c tally
	switch {
	case server != nil:
		c = *server
		share := server.mtls / server.total
		e.MTLS = &share
		if s != nil {
			c.total += s.unreached
			c.serverErrors += s.unreachedErrors
		}
	case s != nil && s.total > 0:
		c = *s
		e.Reporter = "source"
	default:
		return nil
	}
	e.RPS = c.total
	e.ErrorRate = c.serverErrors / c.total
	e.ClientErrorRate = c.clientErrors / c.total
	e.DeniedRate = c.denied / c.total
	return e
}
