package graph

import (
	"math"
	"strings"

	"github.com/prometheus/common/model"
)

// counts are requests by outcome.
type counts struct{ total, serverErrors, clientErrors, denied, mtls float64 }

// tally is what one reporter saw of an edge: all its requests, and (source reports) those
// that never reached the destination's proxy, which only the source reports.
type tally struct{ all, sourceOnly counts }

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
	t.all.add(m, v)
	// A code of 0 alone (the caller went away) says nothing of where the request was: the
	// flags do.
	if !forwarded(string(m["response_flags"])) {
		t.sourceOnly.add(m, v)
	}
}

func (c *counts) add(m model.Metric, v float64) {
	code := string(m["response_code"])
	c.total += v
	if code == "0" || strings.HasPrefix(code, "5") {
		c.serverErrors += v
	}
	if strings.HasPrefix(code, "4") {
		c.clientErrors += v
	}
	if code == "403" {
		c.denied += v
	}
	if m["connection_security_policy"] == "mutual_tls" {
		c.mtls += v
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
	case d != nil && d.all.total > 0:
		server, e.Reporter = d, "destination"
	case w != nil && w.all.total > 0:
		server, e.Reporter = w, "waypoint"
	}
	var c counts
	switch {
	case server != nil:
		c = server.all
		share := c.mtls / c.total
		e.MTLS = &share
		if s != nil {
			c.total += s.sourceOnly.total
			c.serverErrors += s.sourceOnly.serverErrors
			c.clientErrors += s.sourceOnly.clientErrors
			c.denied += s.sourceOnly.denied
		}
	case s != nil && s.all.total > 0:
		c = s.all
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
