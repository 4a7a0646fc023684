package istio

import "testing"

func TestParseMeshConfig(t *testing.T) {
	tests := []struct {
		data string
		want MeshConfig
		err  bool
	}{
		{"", DefaultMeshConfig(), false},
		{"rootNamespace: mesh-admin\ntrustDomain: corp.example\naccessLogFile: /dev/stdout\n", MeshConfig{RootNamespace: "mesh-admin", TrustDomain: "corp.example"}, false},
		{"trustDomain: corp.example\n", MeshConfig{RootNamespace: "istio-system", TrustDomain: "corp.example"}, false},
		{"rootNamespace: [not, a, string]", DefaultMeshConfig(), true},
		{"defaultConfig:\n  holdApplicationUntilProxyStarts: true\n", MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", HoldApplicationUntilProxyStarts: true}, false},
		{"meshId: shop\ndefaultConfig:\n  meshId: other\n", MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", MeshID: "shop"}, false},
		{"defaultConfig:\n  meshId: shop\n", MeshConfig{RootNamespace: "istio-system", TrustDomain: "cluster.local", MeshID: "shop"}, false},
	}
	for _, tt := range tests {
		got, err := ParseMeshConfig(tt.data)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseMeshConfig(%q) = %+v, %v; want %+v, error %t", tt.data, got, err, tt.want, tt.err)
		}
	}
	if p := (MeshConfig{TrustDomain: "corp.example"}).Principal("shop", "api"); p != "corp.example/ns/shop/sa/api" {
		t.Errorf("principal %s", p)
	}
}
