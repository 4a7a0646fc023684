package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// AllNamespaces is how reports name the scope of -A: never "", which reads as a blank.
const AllNamespaces = "all namespaces"

// Scope is a report's scope: the namespace, or AllNamespaces for "".
func Scope(namespace string) string {
	if namespace == "" {
		return AllNamespaces
	}
	return namespace
}

// PrintValue writes a plain value (a status, a graph, the version) as JSON (indented) or YAML,
// for -o json|yaml: the one place where a command's own result becomes machine-readable.
func PrintValue(w io.Writer, format string, v any) error {
	var out []byte
	var err error
	switch format {
	case JSON:
		out, err = json.MarshalIndent(v, "", "  ")
		out = append(out, '\n')
	case YAML:
		out, err = yaml.Marshal(v)
	default:
		return fmt.Errorf("internal error: PrintValue cannot print %q", format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// Warn prints each warning on its own line, as kubectl does: "warning: ...".
func Warn(w io.Writer, warnings ...string) {
	for _, warning := range warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

// Abbreviate joins names with commas, the first max of them, then says how many more there are.
func Abbreviate(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}
