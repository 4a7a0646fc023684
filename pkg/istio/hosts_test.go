package istio

import "testing"

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
		{"reviews", "default", false}, // a short name means the object's own namespace
		{"reviews.bookinfo", "default", true},
		{"reviews.bookinfo.svc", "default", true},
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
