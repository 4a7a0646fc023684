package sim

import (
	"math/rand/v2"
	"testing"

	networkingapi "istio.io/api/networking/v1alpha3"
)

func TestPickDestinationFollowsWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dests := []*networkingapi.HTTPRouteDestination{
		{Destination: &networkingapi.Destination{Subset: "v1"}, Weight: 80},
		{Destination: &networkingapi.Destination{Subset: "v2"}, Weight: 20},
		{Destination: &networkingapi.Destination{Subset: "v3"}, Weight: 0},
	}
	counts := map[string]int{}
	const n = 20000
	for range n {
		counts[pickDestination(rng, dests).GetDestination().GetSubset()]++
	}
	if share := float64(counts["v2"]) / n; share < 0.19 || share > 0.21 {
		t.Errorf("v2 got %.3f of traffic, want 0.20", share)
	}
	if counts["v3"] != 0 {
		t.Errorf("a weight-0 subset got %d requests", counts["v3"])
	}
	lone := []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Subset: "v1"}}}
	if got := pickDestination(rng, lone); got != lone[0] {
		t.Error("a lone destination without weight gets no traffic")
	}
}

func TestRouteMatches(t *testing.T) {
	route := &networkingapi.HTTPRoute{Match: []*networkingapi.HTTPMatchRequest{
		{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Prefix{Prefix: "/api"}}},
		{Headers: map[string]*networkingapi.StringMatch{"end-user": {MatchType: &networkingapi.StringMatch_Exact{Exact: "jason"}}}},
	}}
	tests := []struct {
		req  Request
		want bool
	}{
		{Request{Path: "/api/v1"}, true},
		{Request{Path: "/", Headers: map[string]string{"end-user": "jason"}}, true},
		{Request{Path: "/", Headers: map[string]string{"end-user": "kim"}}, false},
	}
	for _, tt := range tests {
		if got := routeMatches(route, tt.req); got != tt.want {
			t.Errorf("%+v: %t", tt.req, got)
		}
	}
	if !routeMatches(&networkingapi.HTTPRoute{}, Request{Path: "/x"}) {
		t.Error("a route without match is not a catch-all")
	}
}
