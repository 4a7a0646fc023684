package graph

import (
	"math"

	"github.com/prometheus/common/model"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

type tcpTally struct{ bytes, mtls, connections, denied float64 }

// tcpEdges are the TCP traffic of each edge as the destination's proxy (sidecar or ztunnel)
// and the source's reported it.
type tcpEdges struct{ dest, src map[key]*tcpTally }

func tcpTallies(s *telemetry.Samples, note func(key)) tcpEdges {
	t := tcpEdges{dest: map[key]*tcpTally{}, src: map[key]*tcpTally{}}
	for i, vector := range []model.Vector{s.TCPSent, s.TCPRecv, s.TCPOpened} {
		connections := i == 2
		for _, sample := range vector {
			v := float64(sample.Value)
			if math.IsNaN(v) || v == 0 {
				continue
			}
			k := keyOf(sample.Metric)
			k.protocol = "tcp"
			note(k)
			byReporter := t.dest
			if sample.Metric["reporter"] == "source" {
				byReporter = t.src
			}
			tt := byReporter[k]
			if tt == nil {
				tt = &tcpTally{}
				byReporter[k] = tt
			}
			if connections {
				tt.connections += v
				if hasFlag(string(sample.Metric["response_flags"]), "DENY") {
					tt.denied += v
				}
				continue
			}
			tt.bytes += v
			if sample.Metric["connection_security_policy"] == "mutual_tls" {
				tt.mtls += v
			}
		}
	}
	return t
}

// edge counts the bytes once: the destination's report when there is one, else the source's.
// DeniedRate is the share of connections refused by policy (ztunnel's DENY).
func (t tcpEdges) edge(k key) *Edge {
	e := &Edge{Source: k.src, Destination: k.dst, Protocol: "tcp"}
	var c *tcpTally
	switch d, s := t.dest[k], t.src[k]; {
	case d != nil && (d.bytes > 0 || d.connections > 0):
		c, e.Reporter = d, "destination"
		if d.bytes > 0 {
			share := d.mtls / d.bytes
			e.MTLS = &share
		}
	case s != nil && (s.bytes > 0 || s.connections > 0):
		c, e.Reporter = s, "source"
	default:
		return nil
	}
	e.BytesPerSecond, e.ConnectionsPerSecond = c.bytes, c.connections
	if c.connections > 0 {
		e.DeniedRate = c.denied / c.connections
	}
	return e
}
