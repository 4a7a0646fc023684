package output

import (
	"bytes"
	"strings"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var vsKind = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}

func virtualService(name string) Object {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "default",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	vs.Spec.Hosts = []string{name}
	return Object{GVK: vsKind, Object: vs, Operation: "configured"}
}

func TestPrint(t *testing.T) {
	tests := []struct {
		format  string
		objects []Object
		want    string
	}{
		{Name, []Object{virtualService("reviews"), virtualService("ratings")},
			"virtualservice.networking.istio.io/reviews configured\nvirtualservice.networking.istio.io/ratings configured\n"},
		// Two spaces, as every report's -o json (PrintValue), not kubectl's four.
		{JSON, []Object{virtualService("reviews")},
			"{\n  \"kind\": \"VirtualService\",\n  \"apiVersion\": \"networking.istio.io/v1\",\n  \"metadata\": {\n    \"name\": \"reviews\",\n    \"namespace\": \"default\"\n  },\n  \"spec\": {\n    \"hosts\": [\n      \"reviews\"\n    ]\n  },\n  \"status\": {}\n}\n"},
		{YAML, []Object{virtualService("reviews")},
			"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\n  namespace: default\nspec:\n  hosts:\n  - reviews\nstatus: {}\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Print(&out, tt.format, tt.objects...); err != nil {
			t.Fatalf("-o %s: %v", tt.format, err)
		}
		if out.String() != tt.want {
			t.Errorf("-o %s:\n got: %q\nwant: %q", tt.format, out.String(), tt.want)
		}
	}
}

func TestPrintJSONListsSeveralObjects(t *testing.T) {
	var out bytes.Buffer
	if err := Print(&out, JSON, virtualService("reviews"), virtualService("ratings")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "List"`, `"name": "reviews"`, `"name": "ratings"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-o json lacks %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "managedFields") {
		t.Errorf("-o json prints managed fields:\n%s", out.String())
	}
}

// Printing must not set the kind on the caller's object.
func TestPrintLeavesObjectsAlone(t *testing.T) {
	o := virtualService("reviews")
	if err := Print(&bytes.Buffer{}, YAML, o); err != nil {
		t.Fatal(err)
	}
	if !o.Object.GetObjectKind().GroupVersionKind().Empty() || len(o.Object.(*networkingv1.VirtualService).ManagedFields) != 1 {
		t.Error("Print changed the object it was given")
	}
}

func TestValidateFormat(t *testing.T) {
	for _, ok := range []string{"", "yaml", "json", "name"} {
		if err := ValidateFormat(ok); err != nil {
			t.Errorf("ValidateFormat(%q): %v", ok, err)
		}
	}
	err := ValidateFormat("wide")
	if err == nil || !strings.Contains(err.Error(), `"wide"`) || !strings.Contains(err.Error(), "yaml, json, name") {
		t.Errorf("ValidateFormat(wide) = %v", err)
	}
}
