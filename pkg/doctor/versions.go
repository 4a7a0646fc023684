package doctor

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// proxyVersions compares each proxy's image tag with the istiod of its own revision, the one
// that injected it and configures it: during a revision-based upgrade two istiods run side by
// side, and each proxy is judged against its own. Istio supports a data plane up to one minor
// version behind its control plane, never ahead of it.
func proxyVersions(in Input) []Finding {
	planes := controlPlanesOf(in)
	if len(planes.byRevision) == 0 {
		return nil
	}
	var findings []Finding
	for i := range in.Pods {
		pod := &in.Pods[i]
		container := proxyContainer(pod)
		if container == nil || !in.inScope(pod.Namespace) {
			continue
		}
		proxy, ok := minorVersion(container.Image)
		if !ok {
			continue
		}
		name := istio.InjectionRevision(pod.Labels, in.namespaceLabels(pod.Namespace))
		control, found := planes.istiodOf(name)
		switch {
		case found && control.known:
			if f, skewed := versionSkew(pod, proxy, control); skewed {
				findings = append(findings, f)
			}
		case !found && !in.Unknown[WebhookReads]: // unreadable webhooks: name may be a tag
			findings = append(findings, planes.unserved(pod, name))
		}
	}
	return findings
}

// istiodOf is one revision's istiod and its version.
type istiodOf struct {
	deployment *unstructured.Unstructured
	revision   string
	version    version
	known      bool // its image has a version tag
}

func (c istiodOf) String() string {
	return fmt.Sprintf("%s (revision %s) is %s", c.deployment.GetName(), c.revision, c.version.text)
}

// controlPlanes are the istiods by the revision they serve, and the revision tags.
type controlPlanes struct {
	byRevision map[string]istiodOf
	tags       map[string]string
}

func controlPlanesOf(in Input) controlPlanes {
	c := controlPlanes{byRevision: map[string]istiodOf{}, tags: istio.RevisionTags(in.Webhooks)}
	for _, d := range controlPlane(in, isIstiod) {
		rev := istio.IstiodRevision(d)
		if _, seen := c.byRevision[rev]; seen {
			continue
		}
		image, _ := discovery(d)["image"].(string)
		v, ok := minorVersion(image)
		c.byRevision[rev] = istiodOf{deployment: d, revision: rev, version: v, known: ok}
	}
	return c
}

// istiodOf finds the istiod serving a revision or tag. A pod of the default revision where
// no istiod nor tag is the default has its sidecar from the only istiod there is, if one.
func (c controlPlanes) istiodOf(name string) (istiodOf, bool) {
	if d, ok := c.byRevision[istio.ResolveRevision(name, c.tags)]; ok {
		return d, true
	}
	if _, tagged := c.tags[name]; !tagged && name == istio.DefaultRevision && len(c.byRevision) == 1 {
		for _, d := range c.byRevision {
			return d, true
		}
	}
	return istiodOf{}, false
}

// unserved is the finding for a proxy whose revision no istiod serves: it gets no new
// configuration and its certificate is not renewed.
func (c controlPlanes) unserved(pod *corev1.Pod, name string) Finding {
	revisions := slices.Sorted(maps.Keys(c.byRevision))
	what := fmt.Sprintf("revision %q", name)
	if rev := istio.ResolveRevision(name, c.tags); rev != name {
		what = fmt.Sprintf("tag %q (revision %q)", name, rev)
	}
	return Finding{Severity: Error, Check: CheckVersion, Object: Object{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
		Why: fmt.Sprintf("its sidecar comes from %s, which no istiod serves (istiod revisions: %s): the proxy gets no configuration and its certificate is not renewed", what, strings.Join(revisions, ", ")),
		Fix: fmt.Sprintf("point it at a running revision (kubectl label namespace %s istio.io/rev=%s --overwrite, or istioctl tag set), then %s", pod.Namespace, revisions[len(revisions)-1], restart(pod))}
}

// versionSkew judges a proxy against its istiod: behind by one minor version is supported
// while upgrading (a warning); further behind, ahead, or another major version is not.
func versionSkew(pod *corev1.Pod, proxy version, control istiodOf) (Finding, bool) {
	cp := control.version
	if proxy.major == cp.major && proxy.minor == cp.minor {
		return Finding{}, false
	}
	f := Finding{Severity: Error, Check: CheckVersion, Object: Object{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
		Fix: restart(pod) + fmt.Sprintf(" (re-injected, it gets its revision's proxy: %s from %s)", cp.text, control.deployment.GetName())}
	switch behind := cp.minor - proxy.minor; {
	case proxy.major != cp.major:
		f.Why = fmt.Sprintf("its proxy is %s and %s: another major version, outside what Istio supports", proxy.text, control)
	case behind < 0:
		f.Why = fmt.Sprintf("its proxy is %s and %s: %s ahead of its control plane, which Istio does not support (the data plane cannot be ahead of the control plane)", proxy.text, control, minors(-behind))
		if pod.Annotations["sidecar.istio.io/proxyImage"] != "" {
			f.Fix = "remove the sidecar.istio.io/proxyImage annotation that pins it, then " + f.Fix
		} else {
			f.Fix += fmt.Sprintf(", or upgrade revision %s's istiod first", control.revision)
		}
	case behind == 1:
		f.Severity = Warning
		f.Why = fmt.Sprintf("its proxy is %s and %s: %s behind, which Istio supports only while upgrading", proxy.text, control, minors(behind))
	default:
		f.Why = fmt.Sprintf("its proxy is %s and %s: %s behind, outside what Istio supports (one)", proxy.text, control, minors(behind))
	}
	return f, true
}

func minors(n int) string {
	if n == 1 {
		return "1 minor version"
	}
	return fmt.Sprintf("%d minor versions", n)
}

type version struct {
	major, minor int
	text         string
}

// minorVersion reads "1.24.1" out of an image like docker.io/istio/proxyv2:1.24.1-distroless.
func minorVersion(image string) (version, bool) {
	image, _, _ = strings.Cut(image, "@") // a digest after the tag
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return version{}, false
	}
	tag := image[i+1:]
	parts := strings.SplitN(strings.SplitN(tag, "-", 2)[0], ".", 3)
	if len(parts) < 2 {
		return version{}, false
	}
	major, err1 := strconv.Atoi(strings.TrimPrefix(parts[0], "v"))
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return version{}, false
	}
	return version{major: major, minor: minor, text: strings.SplitN(tag, "-", 2)[0]}, true
}
