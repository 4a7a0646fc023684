package traces

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTreeAndCriticalPath(t *testing.T) {
	tr := traceOf(t, "t1", bookinfoTrace)
	var got []string
	for _, n := range Tree(tr) {
		mark := " "
		if n.Critical {
			mark = "*"
		}
		got = append(got, fmt.Sprintf("%s%s%s %.2f", mark, strings.Repeat(" ", n.Depth), n.ID, n.Share))
	}
	want := []string{
		"*gw 1.00",
		"* pp 0.97",
		"*  ppd 0.10", // details before reviews, one after the other: both waited on
		"*   d 0.08",
		"*  ppr 0.75",
		"*   r 0.71",
		"*    rr 0.60",
		"*     ra 0.56",
	}
	if !slices.Equal(got, want) {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := tr.Duration(); d != 100*time.Millisecond {
		t.Errorf("duration %v, want 100ms", d)
	}
}

func TestCriticalPathSkipsWhatRanInParallel(t *testing.T) {
	// details and reviews called at once: the trace waited on reviews, not details.
	tr := traceOf(t, "t2", `
pp  -   default/productpage server 0  100 200 -
ppd pp  default/productpage client 10 30  200 default/details
ppr pp  default/productpage client 10 85  200 default/reviews
ppx pp  default/productpage client 96 10  200 default/metrics
`)
	path := CriticalPath(tr)
	for id, want := range map[string]bool{"pp": true, "ppr": true, "ppd": false, "ppx": true} {
		if path[id] != want {
			t.Errorf("critical[%s] = %v, want %v (path %v)", id, path[id], want, path)
		}
	}
}

func TestTreeKeepsOrphans(t *testing.T) {
	// A span whose parent is not in the trace (a hop that lost it) is a root of its own.
	tr := traceOf(t, "t3", `
a - default/reviews server 0 10 200 -
b x default/ratings server 2 5  200 -
`)
	nodes := Tree(tr)
	if len(nodes) != 2 || nodes[0].ID != "a" || nodes[1].ID != "b" || nodes[1].Depth != 0 || nodes[1].Critical {
		t.Errorf("nodes %+v", nodes)
	}
}

func TestSlowest(t *testing.T) {
	var all []Trace
	for i, ms := range []int{30, 120, 75, 120, 10} {
		all = append(all, traceOf(t, fmt.Sprintf("t%d", i), fmt.Sprintf("s - default/reviews server 0 %d 200 -", ms)))
	}
	all = append(all, all[1]) // the same trace returned for two services
	var got []string
	for _, tr := range Slowest(all, 3, nil) {
		got = append(got, tr.ID)
	}
	if want := []string{"t1", "t3", "t2"}; !slices.Equal(got, want) {
		t.Errorf("slowest %v, want %v", got, want)
	}
	through := func(tr Trace) bool { return tr.Duration() < 50*time.Millisecond }
	if got := Slowest(all, 10, through); len(got) != 2 || got[0].ID != "t0" {
		t.Errorf("slowest through a filter: %v", got)
	}
}

func TestTreeSurvivesRepeatedSpanIDs(t *testing.T) {
	// Jaeger returns what the proxies sent: a span ID twice, one the other's parent.
	tr := traceOf(t, "dup", `
a - default/reviews server 0 10 200 -
a a default/reviews client 1 5  200 default/ratings
`)
	if nodes := Tree(tr); len(nodes) != 1 || !CriticalPath(tr)["a"] {
		t.Errorf("nodes %+v", nodes)
	}
}
