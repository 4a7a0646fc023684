package istio

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Control plane revisions: istiod's Deployment carries its revision in istio.io/rev ("default"
// for an install without --revision); a namespace or pod names the revision (or tag) that
// injects it with the same label; a revision tag is a webhook named istio-revision-tag-TAG,
// labelled istio.io/tag=TAG and istio.io/rev=REVISION. The tag "default" serves namespaces
// labelled istio-injection=enabled and pods with sidecar.istio.io/inject=true.
const (
	RevisionLabel    = "istio.io/rev"
	RevisionTagLabel = "istio.io/tag"
	DefaultRevision  = "default"
	revisionTagHook  = "istio-revision-tag-"
)

// IstiodRevision is the revision an istiod Deployment serves.
func IstiodRevision(istiod *unstructured.Unstructured) string {
	if rev := istiod.GetLabels()[RevisionLabel]; rev != "" {
		return rev
	}
	return DefaultRevision
}

// InjectionRevision is the revision (or tag) whose injector gave a pod its sidecar, and so
// whose istiod the proxy talks to: the pod's istio.io/rev (the injector writes its own
// revision there), else its namespace's, else the default.
func InjectionRevision(pod, namespace map[string]string) string {
	if rev := pod[RevisionLabel]; rev != "" {
		return rev
	}
	if rev := namespace[RevisionLabel]; rev != "" {
		return rev
	}
	return DefaultRevision
}

// RevisionTags maps each revision tag to its revision, read from the tags' webhooks.
func RevisionTags(webhooks []*unstructured.Unstructured) map[string]string {
	tags := map[string]string{}
	for _, w := range webhooks {
		tag := w.GetLabels()[RevisionTagLabel]
		if tag == "" && strings.HasPrefix(w.GetName(), revisionTagHook) {
			tag = strings.TrimPrefix(w.GetName(), revisionTagHook)
		}
		if rev := w.GetLabels()[RevisionLabel]; tag != "" && rev != "" {
			tags[tag] = rev
		}
	}
	return tags
}

// ResolveRevision turns a revision or tag name into the revision that serves it.
func ResolveRevision(name string, tags map[string]string) string {
	if rev, ok := tags[name]; ok {
		return rev
	}
	return name
}
