package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A bad value for any flag, the connection flags included, stops the command before it reads
// anything, names the flag and says what it takes, in words rather than the Go parser's.
func TestInvalidFlagValues(t *testing.T) {
	var requests atomic.Int32
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer prom.Close()
	t.Setenv("MESH_PROMETHEUS_URL", prom.URL)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"graph", "--request-timeout", "5x"}, `error: --request-timeout "5x" is not a duration: give seconds (30) or a number with a unit (30s, 2m, 1h)`},
		{[]string{"doctor", "--request-timeout=-3s"}, `error: --request-timeout "-3s" is not a duration`},
		{[]string{"graph", "--interval", "5x"}, `error: --interval "5x" is not a duration: use a number with a unit, such as 500ms, 30s, 5m or 1h
See 'kubectl mesh graph --help' for usage.`},
		{[]string{"canary", "reviews", "--auto", "--steps", "abc"}, `error: --steps "abc" is not a list of whole numbers: separate them with commas, as in 10,25,50,100
See 'kubectl mesh canary --help' for usage.`},
		{[]string{"traces", "--slowest", "many"}, `error: --slowest "many" is not a whole number`},
		{[]string{"canary", "reviews", "--auto", "--max-error-rate", "1%"}, `error: --max-error-rate "1%" is not a number`},
		{[]string{"lockdown", "default", "--force=maybe"}, `error: --force "maybe": use true or false`},
		{[]string{"graph", "-A=yes"}, `error: --all-namespaces "yes": use true or false`},
	}
	for _, tt := range tests {
		_, stderr, code := run(nil, tt.args...)
		if code != 1 || !strings.HasPrefix(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to start with %q", tt.args, code, stderr, tt.want)
		}
		for _, internal := range []string{"strconv", "time: ", "ParseBool", "Invalid timeout"} {
			if strings.Contains(stderr, internal) {
				t.Errorf("%v: stderr %q carries the parser's words %q", tt.args, stderr, internal)
			}
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("Prometheus got %d requests: a bad flag must stop the command before anything runs", n)
	}
}

// Argument errors say what was meant: a namespace given as an argument, a bare --dry-run
// followed by its value.
func TestArgumentErrorsSayWhatWasMeant(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"graph", "reviews"}, "error: kubectl mesh graph takes no arguments, got \"reviews\": to pick a namespace, write -n reviews (or -A for every namespace)\n"},
		{[]string{"canary", "reviews", "10", "--dry-run", "server"}, "(--dry-run takes its value after '=': did you mean --dry-run=server?)\n"},
		{[]string{"lockdown", "default", "--dry-run", "server"}, "(--dry-run takes its value after '=': did you mean --dry-run=server?)\n"},
	}
	for _, tt := range tests {
		_, stderr, code := run(nil, tt.args...)
		if code != 1 || !strings.HasSuffix(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to end with %q", tt.args, code, stderr, tt.want)
		}
	}
}
