package canary

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var east, west = "cluster cluster-east (context east)", "cluster cluster-west (context west)"

func tutorialSplit() Split {
	return Split{
		Route:    "VirtualService reviews, route #0",
		Weights:  []Weight{{"v1", 90}, {"v2", 10}},
		Record:   "v1 stable, v2 canary",
		Term:     "subset",
		Versions: []string{"v1 (version=v1)", "v2 (version=v2)", "v3 (version=v3)"},
	}
}

func TestDifferencesSaysHowClustersDiffer(t *testing.T) {
	tests := []struct {
		name  string
		west  func(*Split)
		wants []string
	}{
		{name: "agree", west: func(*Split) {}},
		{name: "weights", west: func(s *Split) { s.Weights, s.Record = []Weight{{"v1", 100}}, "" }, wants: []string{
			"reviews: " + east + " sends v1 90, v2 10; " + west + " sends v1 100",
			"reviews: " + east + " has a canary in progress (v1 stable, v2 canary); " + west + " has no canary in progress",
		}},
		{name: "kind", west: func(s *Split) {
			s.Route, s.Term, s.Versions = "HTTPRoute reviews, rule #0", "backend", []string{"reviews-v1 (app=reviews,version=v1)"}
		}, wants: []string{
			"reviews: " + east + " routes it with VirtualService reviews, route #0; " + west + " routes it with HTTPRoute reviews, rule #0",
			"reviews: " + east + " has subsets v1 (version=v1), v2 (version=v2), v3 (version=v3); " + west + " has backends reviews-v1 (app=reviews,version=v1)",
		}},
		{name: "no route", west: func(s *Split) { s.Route, s.Weights, s.Record = "", nil, "" }, wants: []string{
			"reviews: " + east + " routes it with VirtualService reviews, route #0; " + west + " has no route for it (traffic spreads over all pods)",
			"reviews: " + east + " sends v1 90, v2 10; " + west + " sets no weights",
			"reviews: " + east + " has a canary in progress (v1 stable, v2 canary); " + west + " has no canary in progress",
		}},
		{name: "roles", west: func(s *Split) { s.Record = "v2 stable, v1 canary" }, wants: []string{
			"reviews: " + east + " has a canary in progress (v1 stable, v2 canary); " + west + " has a canary in progress (v2 stable, v1 canary)",
		}},
		{name: "subset labels", west: func(s *Split) { s.Versions = []string{"v1 (version=v1)", "v2 (version=v2-rc)", "v3 (version=v3)"} }, wants: []string{
			"reviews: " + east + " has subsets v1 (version=v1), v2 (version=v2), v3 (version=v3); " + west + " has subsets v1 (version=v1), v2 (version=v2-rc), v3 (version=v3)",
		}},
		{name: "rule picked", west: func(s *Split) { s.Route = `VirtualService reviews, route "api"` }, wants: []string{
			"reviews: " + east + " routes it with VirtualService reviews, route #0; " + west + ` routes it with VirtualService reviews, route "api"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tutorialSplit()
			w.Weights = slices.Clone(w.Weights)
			tt.west(&w)
			got := Differences(reviews, []ClusterSplit{{east, tutorialSplit()}, {west, w}})
			if strings.Join(got, "\n") != strings.Join(tt.wants, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wants, "\n"))
			}
		})
	}
}

// A third cluster that differs is named beside the two that agree.
func TestDifferencesNamesEveryCluster(t *testing.T) {
	third := tutorialSplit()
	third.Weights = []Weight{{"v1", 50}, {"v2", 50}}
	got := Differences(reviews, []ClusterSplit{{east, tutorialSplit()}, {west, tutorialSplit()}, {"cluster south", third}})
	want := "reviews: " + east + " sends v1 90, v2 10; " + west + " sends v1 90, v2 10; cluster south sends v1 50, v2 50"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// What the clusters' inputs say about the split: the same route read in two clusters agrees,
// whatever its pods; weights listed in another order, or a version given 0, agree too.
func TestSplitOfReadsWhatDecidesTheSplit(t *testing.T) {
	a := loadInput(t, "tutorial", allReady, nil)
	b := loadInput(t, "tutorial", []string{"v1"}, nil)
	sa, err := SplitOf(a, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := SplitOf(b, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if d := Differences(reviews, []ClusterSplit{{east, sa}, {west, sb}}); len(d) > 0 {
		t.Errorf("same route, different pods: %q", d)
	}
	want := "VirtualService reviews, route #0 [v1 100] subset [v1 (version=v1) v2 (version=v2) v3 (version=v3)]"
	if got := sa.Route + " [" + strings.ReplaceAll(FormatWeights(sa.Weights), "%", "") + "] " + sa.Term + " [" + strings.Join(sa.Versions, " ") + "]"; got != want {
		t.Errorf("SplitOf = %s, want %s", got, want)
	}

	// A step written in one cluster only: the record and the weights differ.
	plan, err := Compute(a, Request{Percent: percent(10)})
	if err != nil {
		t.Fatal(err)
	}
	stepped := a
	stepped.VirtualServices = []*unstructured.Unstructured{plan.Route}
	sc, err := SplitOf(stepped, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got := Differences(reviews, []ClusterSplit{{east, sc}, {west, sb}}); len(got) != 2 {
		t.Errorf("a step in one cluster: got %q, want the weights and the record", got)
	}
}

// A version with ready pods in any cluster is servable from every cluster; one with ready
// pods in none is refused.
func TestMeshWideCountsPodsOfEveryCluster(t *testing.T) {
	east := loadInput(t, "tutorial", []string{"v1", "v2"}, nil)
	west := loadInput(t, "tutorial", []string{"v1"}, nil)
	all := []Input{east, west}
	if _, err := Compute(west, Request{Percent: percent(10)}); err == nil {
		t.Fatal("west alone has no v2: the plan should refuse")
	}
	if _, err := Compute(MeshWide(west, all), Request{Percent: percent(10)}); err != nil {
		t.Errorf("v2 is ready in east: %v", err)
	}
	_, err := Compute(MeshWide(west, all), Request{Percent: percent(10), Canary: "v3"})
	if err == nil || !strings.Contains(err.Error(), `subset "v3" selects no ready pods`) {
		t.Errorf("v3 is ready nowhere: got %v", err)
	}
	if len(west.Pods) != 1 {
		t.Error("MeshWide changed its input")
	}
}

// Each cluster's Prometheus holds its own proxies' reports: the figures add up, the error
// rate is weighted by requests, p99 is the worst cluster's.
func TestSumFiguresAddsClusters(t *testing.T) {
	east := map[string]Figures{"v1": {RPS: 3, Requests: 180, ErrorRate: 0, P99Ms: 40, HasP99: true}, "v2": {RPS: 1, Requests: 60, ErrorRate: 0.5, P99Ms: 90, HasP99: true}}
	west := map[string]Figures{"v2": {RPS: 1, Requests: 60, ErrorRate: 0, P99Ms: 300, HasP99: true}, "v3": {RPS: 2, Requests: 120}}
	got := SumFigures([]map[string]Figures{east, west})
	want := map[string]Figures{
		"v1": {RPS: 3, Requests: 180, P99Ms: 40, HasP99: true},
		"v2": {RPS: 2, Requests: 120, ErrorRate: 0.25, P99Ms: 300, HasP99: true},
		"v3": {RPS: 2, Requests: 120},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("%s: got %+v, want %+v", v, got[v], w)
		}
	}
	if one := SumFigures([]map[string]Figures{east}); one["v2"] != east["v2"] {
		t.Errorf("one cluster: got %+v, want %+v", one["v2"], east["v2"])
	}
}
