package istio

import (
	"maps"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestInjectionRevision(t *testing.T) {
	for _, tc := range []struct {
		pod, namespace map[string]string
		want           string
	}{
		{map[string]string{"istio.io/rev": "1-24"}, map[string]string{"istio.io/rev": "1-25"}, "1-24"},
		{nil, map[string]string{"istio.io/rev": "prod"}, "prod"},
		{map[string]string{"app": "web"}, map[string]string{"istio-injection": "enabled"}, "default"},
		{nil, nil, "default"},
	} {
		if got := InjectionRevision(tc.pod, tc.namespace); got != tc.want {
			t.Errorf("InjectionRevision(%v, %v) = %q, want %q", tc.pod, tc.namespace, got, tc.want)
		}
	}
}

func TestRevisionTags(t *testing.T) {
	hook := func(name string, labels map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetName(name)
		u.SetLabels(labels)
		return u
	}
	tags := RevisionTags([]*unstructured.Unstructured{
		hook("istio-revision-tag-default", map[string]string{"istio.io/tag": "default", "istio.io/rev": "1-25"}),
		hook("istio-revision-tag-canary", map[string]string{"istio.io/rev": "1-26"}), // named, not labelled
		hook("istio-sidecar-injector-1-24", map[string]string{"istio.io/rev": "1-24"}),
		hook("istio-revision-tag-broken", nil),
	})
	if want := map[string]string{"default": "1-25", "canary": "1-26"}; !maps.Equal(tags, want) {
		t.Errorf("tags %v, want %v", tags, want)
	}
	for name, want := range map[string]string{"default": "1-25", "canary": "1-26", "1-24": "1-24", "gone": "gone"} {
		if got := ResolveRevision(name, tags); got != want {
			t.Errorf("ResolveRevision(%q) = %q, want %q", name, got, want)
		}
	}
	istiod := hook("istiod", map[string]string{"app": "istiod"})
	if IstiodRevision(istiod) != "default" {
		t.Errorf("an istiod without istio.io/rev serves %q", IstiodRevision(istiod))
	}
}
