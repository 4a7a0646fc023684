package traces

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The slowest traces say which version served each span: reviews@v3, not reviews.
func TestTraceReportNamesTheRevision(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tr := Trace{ID: "t1", Spans: []Span{
		{ID: "a", Workload: Workload{Service: "productpage", Namespace: "default", Revision: "v1"}, Kind: Server, Operation: "GET /", Start: start, Duration: 100 * time.Millisecond, StatusCode: 200},
		{ID: "b", ParentID: "a", Workload: Workload{Service: "reviews", Namespace: "default", Revision: "v3"}, Kind: Server, Operation: "GET /reviews", Start: start.Add(time.Millisecond), Duration: 90 * time.Millisecond, StatusCode: 200},
	}}
	r := NewTraceReport(tr, "")
	if len(r.Spans) != 2 || r.Spans[1].Revision != "v3" {
		t.Fatalf("spans %+v", r.Spans)
	}
	var out bytes.Buffer
	if err := WriteTraces(&out, Report{Traces: []TraceReport{r}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "default/reviews@v3") || !strings.Contains(out.String(), "default/productpage@v1") {
		t.Errorf("the table does not name the versions:\n%s", out.String())
	}
}
