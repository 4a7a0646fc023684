// Package golden holds the helpers of golden-file tests: testdata/*.in.yaml in, output
// compared with a file that `go test -update` rewrites.
package golden

import (
	"flag"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/internal/manifest"
)

// update is `go test -update`: every golden file is rewritten from what the code produces now.
// Declared here, once, for every package whose tests compare with golden files.
var update = flag.Bool("update", false, "rewrite golden files (testdata) from the current code")

// Objects reads the objects of a YAML file.
func Objects(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := manifest.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objects
}

// Compare fails t when got differs from the file at path; with -update it rewrites the file.
func Compare(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
