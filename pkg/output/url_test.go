package output

import (
	"strings"
	"testing"
)

func TestRedactURLHidesCredentials(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"http://prometheus:9090", "http://prometheus:9090"},
		{"https://admin:s3cret@prom.example/api", "https://admin:xxxxx@prom.example/api"},
		{"https://tok3n@prom.example", "https://xxxxx@prom.example"},
		// Does not parse (a space in the host): redacted all the same.
		{"http://admin:s3cret@prom example:9090/x", "http://xxxxx@prom example:9090/x"},
		{"admin:s3cret@prom:9090", "xxxxx@prom:9090"},
		{"localhost:16686", "localhost:16686"},
		{"http://prom/a@b", "http://prom/a@b"}, // "@" in the path is no user info
	} {
		got := RedactURL(tt.raw)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "tok3n") {
			t.Errorf("RedactURL(%q) = %q shows the credential", tt.raw, got)
		}
	}
}

func TestLinkURLDropsUserInfo(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"https://admin:s3cret@jaeger.example/jaeger/trace/abc", "https://jaeger.example/jaeger/trace/abc"},
		{"https://tok3n@jaeger.example/trace/abc", "https://jaeger.example/trace/abc"},
		{"http://jaeger:16686/trace/abc", "http://jaeger:16686/trace/abc"},
		{"", ""},
	} {
		if got := LinkURL(tt.raw); got != tt.want {
			t.Errorf("LinkURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
