package whatif

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Decode reads the objects of a manifest (YAML documents or JSON, a v1 List included) named
// file, for messages. Objects without a namespace are in namespace; an object in another
// namespace is refused when the user chose namespace with -n, as kubectl apply refuses it.
// Only AuthorizationPolicies and PeerAuthentications of security.istio.io, with an action
// and modes Istio knows, are accepted: what-if replays nothing else.
func Decode(file string, data []byte, namespace string, explicit bool) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("%s, document %d", file, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot be read as YAML: %s", where, yamlMessage(err))
		}
		objects, err := decodeDocument(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		for _, obj := range objects {
			if err := check(obj, namespace, explicit); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, obj)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no object: give AuthorizationPolicies or PeerAuthentications", file)
	}
	return out, nil
}

// decodeDocument reads one document: nothing, an object, or a List of objects.
func decodeDocument(raw []byte) ([]*unstructured.Unstructured, error) {
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", yamlMessage(err))
	}
	if trimmed := strings.TrimSpace(string(data)); trimmed == "null" || trimmed == "" {
		return nil, nil
	}
	// The shape first, in words: the decoder's own errors speak of Go types.
	var shape any
	if err := json.Unmarshal(data, &shape); err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %s", yamlMessage(err))
	}
	if m, ok := shape.(map[string]any); !ok || m["kind"] == nil || m["kind"] == "" {
		return nil, fmt.Errorf("not a Kubernetes object: each needs apiVersion, kind and metadata.name")
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: each needs apiVersion, kind and metadata.name")
	}
	if !obj.IsList() {
		return []*unstructured.Unstructured{obj}, nil
	}
	list, err := obj.ToList()
	if err != nil {
		return nil, fmt.Errorf("a List whose items are not objects: %s", yamlMessage(err))
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// yamlMessage is a parser's complaint without the Go package's words around it.
func yamlMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "yaml: ", "json: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

var (
	securityVersions = []string{"security.istio.io/v1", "security.istio.io/v1beta1"}
	actions          = []string{"", istio.ActionAllow, istio.ActionDeny, istio.ActionCustom, istio.ActionAudit}
	modes            = []string{"", istio.ModeUnset, istio.ModeDisable, istio.ModePermissive, istio.ModeStrict}
)

// check accepts obj as a change and puts it in its namespace.
func check(obj *unstructured.Unstructured, namespace string, explicit bool) error {
	kind, name := obj.GetKind(), obj.GetName()
	switch {
	case kind != KindAuthorizationPolicy && kind != KindPeerAuthentication:
		return fmt.Errorf("%s %q: what-if replays AuthorizationPolicies and PeerAuthentications only", orUnset(kind, "an object without kind"), name)
	case !slices.Contains(securityVersions, obj.GetAPIVersion()):
		return fmt.Errorf("%s %q: apiVersion %q: use %s", kind, name, obj.GetAPIVersion(), securityVersions[0])
	case name == "":
		return fmt.Errorf("a %s without metadata.name", kind)
	case obj.GetNamespace() != "" && explicit && obj.GetNamespace() != namespace:
		return fmt.Errorf("%s %q is in namespace %q, not -n %q: drop -n, or the object's namespace", kind, name, obj.GetNamespace(), namespace)
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(namespace)
	}
	if kind == KindAuthorizationPolicy {
		action, _, _ := unstructured.NestedString(obj.Object, "spec", "action")
		if !slices.Contains(actions, action) {
			return fmt.Errorf("%s %s/%s: action %q: use ALLOW, DENY, CUSTOM or AUDIT", kind, obj.GetNamespace(), name, action)
		}
		return nil
	}
	mode, _, _ := unstructured.NestedString(obj.Object, "spec", "mtls", "mode")
	ports, _, _ := unstructured.NestedMap(obj.Object, "spec", "portLevelMtls")
	for port, v := range ports {
		m, _ := v.(map[string]any)
		if portMode, _ := m["mode"].(string); !slices.Contains(modes, portMode) {
			return fmt.Errorf("%s %s/%s: port %s: mode %q: use STRICT, PERMISSIVE, DISABLE or UNSET", kind, obj.GetNamespace(), name, port, portMode)
		}
	}
	if !slices.Contains(modes, mode) {
		return fmt.Errorf("%s %s/%s: mtls mode %q: use STRICT, PERMISSIVE, DISABLE or UNSET", kind, obj.GetNamespace(), name, mode)
	}
	return nil
}

func orUnset(s, unset string) string {
	if s == "" {
		return unset
	}
	return s
}
