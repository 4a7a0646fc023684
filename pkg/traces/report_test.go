package traces

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/golden"
)

func TestTracesGolden(t *testing.T) {
	slow := traceOf(t, "4bf92f3577b34da6a3ce929d0e0e4736", bookinfoTrace)
	lost := traceOf(t, "00f067aa0ba902b7a3ce929d0e0e4736", reviewsDrops)
	report := Report{Window: "15m", Service: "reviews", Namespace: "default"}
	for _, tr := range Slowest([]Trace{lost, slow}, 5, nil) {
		report.Traces = append(report.Traces, NewTraceReport(tr, "http://jaeger.example/jaeger/trace/"+tr.ID))
	}
	var table bytes.Buffer
	if err := WriteTraces(&table, report); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/slowest.table", table.String())
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/slowest.json", string(data)+"\n")
}

func TestCheckGolden(t *testing.T) {
	traces := append(repeat(t, 7, reviewsDrops), traceOf(t, "thin", `
pp  -   default/productpage server 0  20 200 -
ppd pp  default/productpage client 5  10 200 default/details
d   ppd default/details     server 6  8  200 -
`))
	// Per revision: cart@v1 forwards, cart@v2 drops, cart@v3 forwards on most calls only.
	traces = append(traces, cartTraces(t)...)
	v3 := func(table string) string { return strings.ReplaceAll(table, "cart@v1", "cart@v3") }
	traces = append(append(traces, repeat(t, 4, v3(cartV1Forwards))...), repeat(t, 2, v3(strings.ReplaceAll(cartV2Drops, "cart@v2", "cart@v1")))...)
	edges := append([]Edge{{From: productpage, To: details}, {cartV1, ledgerV1}, {cartV2, ledgerV1}, {Workload{"cart", "shop", "v3"}, ledgerV1}}, bookinfo[2:]...)
	report := CheckReport{Window: "15m", Edges: "prometheus", Hops: Check(edges, traces)}
	var table bytes.Buffer
	if err := WriteVerdicts(&table, report); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/check.table", table.String())
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/check.json", string(data)+"\n")
}
