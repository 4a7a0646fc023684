package whatif

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/output"
)

// The table and the JSON of one report, pinned: every kind of change (newly denied by a DENY
// rule and by STRICT, newly allowed), counts with refusals, the change's steps.
func TestReportGolden(t *testing.T) {
	c, before := loadCluster(t, "cluster")
	edit := Edit{
		Apply: objects(t, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-web, namespace: shop}
spec:
  action: DENY
  selector: {matchLabels: {app: worker}}
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: amb}
spec: {mtls: {mode: STRICT}}
`),
		Delete: []Ref{{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "api-allow"}},
	}
	after, steps, err := before.With(edit, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport("24h", []string{"amb", "shop"}, false, steps, Replay(c, before, after, observed))
	if !r.Breaks() || !r.Opens() {
		t.Errorf("the report neither breaks nor opens: %+v", r.Summary)
	}
	var table, json bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, filepath.Join("testdata", "report.out.txt"), table.String())
	if err := output.PrintValue(&json, output.JSON, r); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, filepath.Join("testdata", "report.out.json"), json.String())
}

func TestReportWithoutChangesSaysSo(t *testing.T) {
	var table, json bytes.Buffer
	r := NewReport("1h", []string{"shop"}, false, nil, Result{Replayed: 3})
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if want := "change: \nreplayed 3 edges seen into shop over 1h: no verdict changes\n"; table.String() != want {
		t.Errorf("table %q, want %q", table.String(), want)
	}
	if err := output.PrintValue(&json, output.JSON, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(json.Bytes(), []byte(`"edges": []`)) || !bytes.Contains(json.Bytes(), []byte(`"changes": []`)) {
		t.Errorf("JSON without edges must say [] not null:\n%s", json.String())
	}
}
