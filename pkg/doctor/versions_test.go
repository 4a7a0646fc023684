package doctor

import (
	"strings"
	"testing"
)

// A revision-based upgrade half done: istiod-1-24 and istiod-1-25 side by side, the default
// tag on 1-24 and the tag prod on 1-25, namespaces on each.
var twoRevisions = []string{
	istiod("1-24", "1.24.2"), istiod("1-25", "1.25.1"),
	webhook("istio-sidecar-injector-1-24", "{istio.io/rev: 1-24}"),
	webhook("istio-sidecar-injector-1-25", "{istio.io/rev: 1-25}"),
	webhook("istio-revision-tag-default", "{istio.io/tag: default, istio.io/rev: 1-24}"),
	webhook("istio-revision-tag-prod", "{istio.io/tag: prod, istio.io/rev: 1-25}"),
	namespace("old", "istio.io/rev: 1-24"), namespace("new", "istio.io/rev: 1-25"),
	namespace("prod", "istio.io/rev: prod"), namespace("plain", "istio-injection: enabled"),
}

func istiod(rev, version string) string {
	return strings.NewReplacer("1-24", rev, "1.24.2", version).Replace(healthyControlPlane[:strings.Index(healthyControlPlane, "---")])
}

func webhook(name, labels string) string {
	return "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: " + name + ", labels: " + labels + "}\n"
}

// proxyPod is a pod of namespace with a proxy of version, and extra metadata.
func proxyPod(ns, version, extra string) string {
	return strings.Replace(sidecarPod(ns, "web", extra), "proxyv2:1.24.2", "proxyv2:"+version, 1)
}

// Each proxy is judged against the istiod of its own revision: the pod's istio.io/rev, else
// its namespace's, else the default (tag); a tag is the revision it points to. Behind by one
// minor version is a warning, ahead (any) or further behind an error.
func TestProxyVersionPerRevision(t *testing.T) {
	with := func(docs ...string) []string { return append(append([]string{}, twoRevisions...), docs...) }
	runChecks(t, CheckVersion, []checkCase{
		{"1-25's proxy in a 1-25 namespace", with(proxyPod("new", "1.25.1", "")), nil},
		{"1-24's proxy in a 1-24 namespace", with(proxyPod("old", "1.24.2", "")), nil},
		{"injected by 1-24 before its namespace moved to 1-25", with(proxyPod("new", "1.24.2", ", labels: {istio.io/rev: 1-24}")), nil},
		{"the pod's label before its namespace's", with(proxyPod("old", "1.25.1", ", labels: {istio.io/rev: 1-25}")), nil},
		{"one minor behind its revision", with(proxyPod("new", "1.24.2", "")), []string{"warning Pod/new/web"}},
		{"one minor ahead of its revision", with(proxyPod("old", "1.25.1", "")), []string{"error Pod/old/web"}},
		{"ahead by its pod's label", with(proxyPod("new", "1.25.1", ", labels: {istio.io/rev: 1-24}")), []string{"error Pod/new/web"}},
		{"a tag's revision", with(proxyPod("prod", "1.25.0", "")), nil},
		{"behind a tag's revision", with(proxyPod("prod", "1.24.2", "")), []string{"warning Pod/prod/web"}},
		{"the default tag", with(proxyPod("plain", "1.24.0", "")), nil},
		{"ahead of the default tag", with(proxyPod("plain", "1.25.1", "")), []string{"error Pod/plain/web"}},
		{"a revision no istiod serves", with(proxyPod("old", "1.23.1", ", labels: {istio.io/rev: 1-23}")), []string{"error Pod/old/web"}},
		{"no default where two revisions run", []string{istiod("1-24", "1.24.2"), istiod("1-25", "1.25.1"), namespace("plain", "istio-injection: enabled"), proxyPod("plain", "1.24.2", "")},
			[]string{"error Pod/plain/web"}},
		{"the only istiod serves an unlabelled namespace", []string{istiod("1-25", "1.25.1"), namespace("plain", "istio-injection: enabled"), proxyPod("plain", "1.24.2", "")},
			[]string{"warning Pod/plain/web"}},
		{"an istiod without a revision is the default", []string{istiod("1-24", "1.24.2"), strings.Replace(istiod("x", "1.25.1"), ", istio.io/rev: x}", "}", 1), namespace("plain", "istio-injection: enabled"), proxyPod("plain", "1.25.1", "")},
			nil},
	}, nil)

	// Webhooks unreadable: a name that is no istiod's revision may be a tag, and is not judged.
	runChecks(t, CheckVersion, []checkCase{
		{"a tag, unreadable", with(proxyPod("prod", "1.22.0", "")), nil},
		{"a revision, still judged", with(proxyPod("new", "1.26.0", "")), []string{"error Pod/new/web"}},
	}, func(in *Input) { in.Webhooks, in.Unknown = nil, map[string]bool{WebhookReads: true} })
}

// What doctor says of each, in Istio's terms, with the fix that applies.
func TestProxyVersionWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  string
		why  string
		fix  string
	}{
		{"ahead", proxyPod("old", "1.25.1", ""),
			"its proxy is 1.25.1 and istiod-1-24 (revision 1-24) is 1.24.2: 1 minor version ahead of its control plane, which Istio does not support",
			"kubectl -n old delete pod web, and create it again from its manifest (re-injected, it gets its revision's proxy: 1.24.2 from istiod-1-24), or upgrade revision 1-24's istiod first"},
		{"ahead, pinned", proxyPod("old", "1.25.1", ", annotations: {sidecar.istio.io/proxyImage: 'docker.io/istio/proxyv2:1.25.1'}"),
			"ahead of its control plane", "remove the sidecar.istio.io/proxyImage annotation that pins it, then kubectl -n old delete pod web"},
		{"behind", proxyPod("new", "1.24.2", ""),
			"its proxy is 1.24.2 and istiod-1-25 (revision 1-25) is 1.25.1: 1 minor version behind, which Istio supports only while upgrading",
			"(re-injected, it gets its revision's proxy: 1.25.1 from istiod-1-25)"},
		{"unserved", proxyPod("old", "1.23.1", ", labels: {istio.io/rev: 1-23}"),
			`its sidecar comes from revision "1-23", which no istiod serves (istiod revisions: 1-24, 1-25)`,
			"kubectl label namespace old istio.io/rev=1-25 --overwrite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var found bool
			for _, f := range Check(inputOf(t, append(append([]string{}, twoRevisions...), tc.pod)...)) {
				if f.Check != CheckVersion {
					continue
				}
				found = true
				if !strings.Contains(f.Why, tc.why) || !strings.Contains(f.Fix, tc.fix) {
					t.Errorf("why %q\nfix %q\nwant %q and %q", f.Why, f.Fix, tc.why, tc.fix)
				}
			}
			if !found {
				t.Error("no finding")
			}
		})
	}
}
