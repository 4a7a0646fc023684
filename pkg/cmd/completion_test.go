package cmd

import (
	"strings"
	"testing"
)

// Each command completes its own flags: graph's -o offers graph's formats, canary's and
// lockdown's the object formats, every --dry-run kubectl's values.
func TestFlagCompletions(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"graph", "-o", ""}, "table\nwide\njson\nyaml\ndot\nmermaid\n"},
		{[]string{"graph", "--sort", ""}, "p99\nrps\nerrors\n"},
		{[]string{"canary", "reviews", "-o", ""}, "yaml\njson\nname\n"},
		{[]string{"lockdown", "--dry-run="}, "none\nclient\nserver\n"},
		{[]string{"version", "-o", ""}, "json\nyaml\n"},
		{[]string{"canary", "reviews", ""}, "0\n10\n25\n50\n75\n100\n"},
		{[]string{"traces", "-o", ""}, "table\njson\nyaml\n"},
		{[]string{"traces", "reviews", ""}, ""},
		{[]string{"doctor", "--fail-on", ""}, "error\nwarning\ninfo\n"},
		{[]string{"why", "-o", ""}, "table\njson\nyaml\n"},
		{[]string{"why", "out"}, "outside\n"},
		{[]string{"what-if", "-o", ""}, "table\njson\nyaml\n"},
		{[]string{"what-if", "--fail-on", ""}, "none\ndenied\nallowed\nany\n"},
	}
	for _, tt := range tests {
		stdout, stderr, code := run(nil, append([]string{"__complete"}, tt.args...)...)
		// cobra ends the list with the directive (:4, no file completion) on its own line.
		got, _, _ := strings.Cut(stdout, ":")
		if code != 0 || got != tt.want {
			t.Errorf("kubectl mesh %s<TAB>: exit %d, got %q, want %q (%s)", strings.Join(tt.args, " "), code, got, tt.want, stderr)
		}
	}
}
