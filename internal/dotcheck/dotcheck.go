// Package dotcheck helps tests read -o dot: IDs as DOT reads them, and a rendering by
// Graphviz where it is installed (the tests' checks go by a DOT parser, never by Graphviz).
package dotcheck

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Unquote is an ID as DOT reads it: in a quoted string only \" is an escape, and a backslash
// before a newline continues the line.
func Unquote(id string) string {
	if len(id) < 2 || id[0] != '"' || id[len(id)-1] != '"' {
		return id
	}
	return strings.NewReplacer(`\"`, `"`, "\\\n", "").Replace(id[1 : len(id)-1])
}

// Render renders src with Graphviz's dot where it is installed, and says so where it is not;
// each of want must appear in the SVG.
func Render(t testing.TB, src string, want ...string) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		t.Log("Graphviz's dot is not installed: -o dot checked with the DOT parser only, not rendered")
		return
	}
	render := exec.Command("dot", "-Tsvg")
	render.Stdin = strings.NewReader(src)
	var stderr bytes.Buffer
	render.Stderr = &stderr
	svg, err := render.Output()
	if err != nil {
		t.Fatalf("dot -Tsvg: %v\n%s\non:\n%s", err, stderr.String(), src)
	}
	for _, w := range want {
		if !strings.Contains(string(svg), w) {
			t.Errorf("dot -Tsvg: %q missing from the rendering of:\n%s", w, src)
		}
	}
	t.Log("-o dot rendered by Graphviz's dot")
}
