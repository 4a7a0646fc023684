// Package output prints API objects the way kubectl does for -o yaml|json|name.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/change"
)

// Formats accepted by -o, besides the command's own human output.
const (
	YAML = "yaml"
	JSON = "json"
	Name = "name"
)

// Formats lists the -o values this package prints, for flag help and validation.
var Formats = []string{YAML, JSON, Name}

// ValidateFormat accepts "" (the command's human output) and the formats above.
func ValidateFormat(format string) error {
	switch format {
	case "", YAML, JSON, Name:
		return nil
	}
	return fmt.Errorf("unknown output format %q for -o: use one of %s", format, strings.Join(Formats, ", "))
}

// Object is an API object together with its kind, which typed clients leave empty.
type Object struct {
	GVK    schema.GroupVersionKind
	Object runtime.Object
	// Operation is the verb shown by -o name: "configured", "created", "deleted", ...
	Operation string
}

// PrintChanges writes the objects of changes as written (deleted ones as they were), each with
// its verb and suffix (" (dry run)") for -o name.
func PrintChanges(w io.Writer, format string, changes []change.Change, suffix string) error {
	objects := make([]Object, 0, len(changes))
	for _, c := range changes {
		obj := c.Object()
		objects = append(objects, Object{GVK: obj.GroupVersionKind(), Object: obj, Operation: c.Verb() + suffix})
	}
	return Print(w, format, objects...)
}

// Print writes objects in format. Several objects print as a v1 List for json, as
// documents separated by "---" for yaml, and one "kind.group/name operation" line each for name.
func Print(w io.Writer, format string, objects ...Object) error {
	prepared := make([]runtime.Object, 0, len(objects))
	for _, o := range objects {
		obj := o.Object.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(o.GVK)
		// Like kubectl without --show-managed-fields: managed fields are noise here.
		if acc, ok := obj.(metav1.Object); ok {
			acc.SetManagedFields(nil)
		}
		prepared = append(prepared, obj)
	}
	switch format {
	case YAML:
		p := &printers.YAMLPrinter{}
		for _, obj := range prepared {
			if err := p.PrintObj(obj, w); err != nil {
				return err
			}
		}
		return nil
	case JSON:
		var obj runtime.Object = &metav1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
		if len(prepared) == 1 {
			obj = prepared[0]
		} else {
			for _, item := range prepared {
				obj.(*metav1.List).Items = append(obj.(*metav1.List).Items, runtime.RawExtension{Object: item})
			}
		}
		return printJSON(w, obj)
	case Name:
		for i, obj := range prepared {
			p := &printers.NamePrinter{Operation: objects[i].Operation}
			if err := p.PrintObj(obj, w); err != nil {
				return err
			}
		}
		return nil
	}
	return ValidateFormat(format)
}

// printJSON prints obj as kubectl's JSON printer does, indented by two spaces as every report
// of ours is (PrintValue), rather than kubectl's four: one indentation whatever -o json prints.
func printJSON(w io.Writer, obj runtime.Object) error {
	var raw, indented bytes.Buffer
	if err := (&printers.JSONPrinter{}).PrintObj(obj, &raw); err != nil {
		return err
	}
	if err := json.Indent(&indented, bytes.TrimSpace(raw.Bytes()), "", "  "); err != nil {
		return err
	}
	indented.WriteByte('\n')
	_, err := w.Write(indented.Bytes())
	return err
}
