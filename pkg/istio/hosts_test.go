package istio

import (
	"strings"
	"testing"
)

func TestParseService(t *testing.T) {
	tests := []struct {
		arg          string
		want         Service
		fromName, ok bool
	}{
		{"reviews", Service{"reviews", "ns"}, false, true},
		{"reviews.bookinfo", Service{"reviews", "bookinfo"}, true, true},
		{"reviews.bookinfo.svc", Service{"reviews", "bookinfo"}, true, true},
		{"reviews.bookinfo.svc.cluster.local", Service{"reviews", "bookinfo"}, true, true},
		{"reviews.bookinfo.example.com", Service{}, false, false},
		{"reviews..svc", Service{}, false, false},
		{"", Service{}, false, false},
	}
	for _, tt := range tests {
		got, fromName, ok := ParseService(tt.arg, "ns")
		if got != tt.want || fromName != tt.fromName || ok != tt.ok {
			t.Errorf("ParseService(%q) = %v, %t, %t; want %v, %t, %t", tt.arg, got, fromName, ok, tt.want, tt.fromName, tt.ok)
		}
	}
}

func TestHostNamesService(t *testing.T) {
	svc := Service{"reviews", "bookinfo"}
	tests := []struct {
		host, ns string
		want     bool
	}{
		{"reviews", "bookinfo", true},
		{"reviews", "default", false},          // a short name means the object's own namespace
		{"reviews.bookinfo", "default", false}, // taken literally: only short names are expanded
		{"reviews.bookinfo.svc", "default", false},
		{"reviews.bookinfo.svc.", "default", false},
		{"reviews.bookinfo.svc.cluster.local", "default", true},
		{"reviews.bookinfo.svc.corp.internal", "default", true},
		{"reviews.default.svc.cluster.local", "bookinfo", false},
		{"ratings", "bookinfo", false},
		{"*.bookinfo.svc.cluster.local", "bookinfo", false},
	}
	for _, tt := range tests {
		if got := HostNamesService(tt.host, tt.ns, svc); got != tt.want {
			t.Errorf("HostNamesService(%q in %s) = %t, want %t", tt.host, tt.ns, got, tt.want)
		}
	}
}

func TestHostNearMiss(t *testing.T) {
	svc := Service{"details", "default"}
	tests := []struct {
		host, ns, want string
	}{
		{"details", "default", ""},
		{"details.default.svc.cluster.local", "other", ""},
		{"ratings.default", "default", ""},
		{"details.other.svc.cluster.local", "default", ""},
		{"details.default", "default", `Istio expands only short names: it reads "details.default" literally`},
		{"details.default.svc", "default", `write "details" or "details.default.svc.cluster.local"`},
		{"details", "other", `the short name "details" means service details in the object's own namespace other`},
	}
	for _, tt := range tests {
		got := HostNearMiss(tt.host, tt.ns, svc)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("HostNearMiss(%q in %s) = %q, want %q", tt.host, tt.ns, got, tt.want)
		}
	}
}
