package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

type decoded struct {
	metric model.Metric
	value  float64
}

func decodeAll(body string) ([]decoded, error) {
	var out []decoded
	err := decodeVector(strings.NewReader(body), func(m model.Metric, v float64) {
		out = append(out, decoded{maps.Clone(m), v})
	})
	return out, err
}

func TestDecodeVector(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"reporter":"destination","destination_app":"reviews"},"value":[1732611600.123,"0.25"]},
		{"metric":{"le":"+Inf","path":"/a\"b\\c\u00e9\n"},"value":[1732611600,"NaN"]},
		{"metric":{},"value":[1732611600,"+Inf"]}
	]},"warnings":["PromQL info: something", {"nested":[1,true,null]}],"infos":[]}`
	got, err := decodeAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d samples: %v", len(got), got)
	}
	if got[0].metric["reporter"] != "destination" || got[0].metric["destination_app"] != "reviews" || got[0].value != 0.25 || len(got[0].metric) != 2 {
		t.Errorf("first sample %v", got[0])
	}
	if got[1].metric["path"] != "/a\"b\\cé\n" || !math.IsNaN(got[1].value) || len(got[1].metric) != 2 {
		t.Errorf("escaped labels, NaN: %v", got[1])
	}
	if len(got[2].metric) != 0 || !math.IsInf(got[2].value, 1) {
		t.Errorf("no labels, +Inf: %v (the metric must be emptied between samples)", got[2])
	}
}

func TestDecodeVectorErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"Prometheus refuses the query", `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`, "bad_data: parse error at char 5"},
		{"the API server's proxy refuses", `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \"prometheus\" is forbidden","reason":"Forbidden","details":{"name":"prometheus"},"code":403}`, `services "prometheus" is forbidden`},
		{"not a vector", `{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`, "returned a scalar, not a vector"},
		{"cut off", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"}`, "unexpected EOF"},
		{"not JSON", `<html>`, "invalid JSON"},
		{"a value that is not a number", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}`, "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	_, err := decodeAll(`{"status":"error","errorType":"timeout","error":"query timed out"}`)
	var promErr *apiError
	if !errors.As(err, &promErr) || promErr.kind != "timeout" {
		t.Errorf("error %v is not Prometheus's own", err)
	}
}

// FuzzDecodeVector holds the hand-written decoder to encoding/json's reading of the same
// answer: the same samples when both accept it, and no panic whatever the input.
func FuzzDecodeVector(f *testing.F) {
	f.Add(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}]}}`)
	f.Add(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\u00e9\"x"},"value":[1.5,"NaN"]},{"metric":{},"value":[2,"-Inf"]}]}}`)
	f.Add(`{"status":"error","errorType":"bad_data","error":"x"}`)
	f.Add(`{"data":{"result":[],"resultType":"vector"},"status":"success","warnings":["w"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		got, err := decodeAll(body)
		want, ok := referenceDecode(body)
		if !ok {
			return // what encoding/json refuses, the decoder need only not panic on
		}
		if err != nil {
			t.Fatalf("encoding/json reads %q, the decoder fails: %v", body, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q:\n got %v\nwant %v", body, got, want)
		}
	})
}

// referenceDecode reads an answer with encoding/json, keys matched exactly as Prometheus
// writes them; ok is false for what it refuses, or what Prometheus never writes (a key twice).
func referenceDecode(body string) ([]decoded, bool) {
	var top, data map[string]json.RawMessage
	var status, resultType string
	var result []map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &top) != nil || json.Unmarshal(top["status"], &status) != nil || status != "success" ||
		json.Unmarshal(top["data"], &data) != nil || json.Unmarshal(data["resultType"], &resultType) != nil || resultType != "vector" ||
		json.Unmarshal(data["result"], &result) != nil {
		return nil, false
	}
	if strings.Count(body, `"result"`) > 1 || strings.Count(body, `"metric"`) > len(result) {
		return nil, false
	}
	var out []decoded
	for _, r := range result {
		var labels map[string]string
		var value []any
		if json.Unmarshal(r["metric"], &labels) != nil || json.Unmarshal(r["value"], &value) != nil || len(value) != 2 {
			return nil, false
		}
		s, ok := value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			return nil, false
		}
		m := model.Metric{}
		for k, v := range labels {
			m[model.LabelName(k)] = model.LabelValue(v)
		}
		out = append(out, decoded{m, v})
	}
	return out, true
}

// The answer to the graph's bucket query in a mesh of 100 namespaces: 800 histograms of 20
// buckets, as Prometheus writes it (about 5 MB).
func BenchmarkDecodeBuckets(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	bounds := []string{"0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf"}
	for i := range 800 {
		for j, le := range bounds {
			if i+j > 0 {
				body.WriteByte(',')
			}
			ns := fmt.Sprintf("gen%d", i/8)
			fmt.Fprintf(&body, `{"metric":{"destination_app":"reviews","destination_service":"reviews.%s.svc.cluster.local","destination_version":"v%d","destination_workload":"reviews-v%d","destination_workload_namespace":%q,"le":%q,"reporter":"destination","request_protocol":"http","source_app":"productpage","source_version":"v1","source_workload":"productpage-v1","source_workload_namespace":%q},"value":[1795719540,"%g"]}`,
				ns, i%8, i%8, ns, le, ns, float64(j)*1.5)
		}
	}
	body.WriteString(`]}}`)
	data := body.String()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var h histogramSet
		if err := decodeVector(strings.NewReader(data), h.add); err != nil {
			b.Fatal(err)
		}
		for _, histogram := range h.list {
			histogram.Quantiles(Quantiles...)
		}
	}
}
