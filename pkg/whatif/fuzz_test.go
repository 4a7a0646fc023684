package whatif

import (
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Any file: objects or an error, never a panic; what is accepted is a policy with a name and a
// namespace.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\n---\nkind: List\nitems: [{kind: PeerAuthentication}]\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"p"},"spec":{"portLevelMtls":{"x":1}}}]}`))
	f.Add([]byte("- 1\n- {kind: x}\n---\n\"s\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objects, err := Decode("f.yaml", data, "shop", false)
		if err != nil {
			return
		}
		for _, obj := range objects {
			if (obj.GetKind() != KindAuthorizationPolicy && obj.GetKind() != KindPeerAuthentication) || obj.GetName() == "" || obj.GetNamespace() == "" {
				t.Errorf("accepted %v", obj.Object)
			}
		}
	})
}

// A change made of policies of any shape the API server could hold: a replay, never a panic;
// a change that changes nothing lists nothing; and the change undone lists the same edges,
// each the other way round (what it would deny, undoing it would let in).
func FuzzReplayOverAnyPolicies(f *testing.F) {
	f.Add([]byte(`{"mtls":{"mode":"STRICT"},"portLevelMtls":{"9080":{"mode":"DISABLE"}}}`), []byte(`{"action":"DENY","rules":[{"from":[{"source":{"namespaces":["shop"]}}]}]}`))
	f.Add([]byte(`{"selector":{"matchLabels":{"app":"api"}},"mtls":{"mode":"DISABLE"}}`), []byte(`{"targetRefs":[{"kind":"Service","name":"reviews"}],"rules":[{"to":[{"operation":{"paths":["/a*"]}}]}]}`))
	f.Add([]byte(`null`), []byte(`{"selector":{"matchLabels":{"app":7}},"rules":"x"}`))
	f.Fuzz(func(t *testing.T, paSpec, apSpec []byte) {
		c, before := loadCluster(t, "cluster")
		var edit Edit
		for _, o := range []struct {
			kind string
			raw  []byte
		}{{KindPeerAuthentication, paSpec}, {KindAuthorizationPolicy, apSpec}} {
			var spec any
			if json.Unmarshal(o.raw, &spec) != nil {
				continue
			}
			for _, ns := range []string{"shop", "amb"} {
				edit.Apply = append(edit.Apply, &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "security.istio.io/v1", "kind": o.kind,
					"metadata": map[string]any{"name": "fuzzed", "namespace": ns}, "spec": spec,
				}})
			}
		}
		after, _, err := before.With(edit, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if same := Replay(c, after, after, observed); len(same.Edges) > 0 {
			t.Errorf("no change, yet %d edges listed: %s", len(same.Edges), short(same.Edges[0]))
		}
		forward, backward := Replay(c, before, after, observed), Replay(c, after, before, observed)
		flipped := map[string]string{NewlyDenied: NewlyAllowed, NewlyAllowed: NewlyDenied, Mixed: Mixed}
		back := map[string]string{}
		for _, e := range backward.Edges {
			back[e.Source.String()+" -> "+e.Destination.String()+" "+e.Protocol] = e.Change
		}
		if len(forward.Edges) != len(backward.Edges) {
			t.Errorf("%d edges change, %d change back", len(forward.Edges), len(backward.Edges))
		}
		for _, e := range forward.Edges {
			if got := back[e.Source.String()+" -> "+e.Destination.String()+" "+e.Protocol]; got != flipped[e.Change] {
				t.Errorf("%s; undone: %q, want %q", short(e), got, flipped[e.Change])
			}
		}
	})
}
