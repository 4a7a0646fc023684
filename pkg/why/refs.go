package why

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// Ref is one end of the request as the user names it.
type Ref struct {
	// Kind is "" (a Service, else a workload), "svc", "deploy" or "pod".
	Kind            string
	Name, Namespace string
	// Outside: a plaintext caller with no mesh identity (SOURCE "outside").
	Outside bool
	// Principal stands for a mesh caller the cluster does not hold; RequestPrincipal is the
	// ISS/SUB of the JWT the caller sends.
	Principal, RequestPrincipal string
}

var kinds = map[string]string{"svc": "svc", "service": "svc", "services": "svc", "deploy": "deploy", "deployment": "deploy", "deployments": "deploy", "pod": "pod", "po": "pod", "pods": "pod"}

// ParseRef reads an end: NAME, NAME.NAMESPACE, KIND/NAME or KIND/NAME.NAMESPACE, with KIND
// one of svc, deploy, pod (and their long forms); a Service may also be written as its FQDN.
func ParseRef(arg, defaultNamespace string) (Ref, error) {
	kind, name, hasKind := strings.Cut(arg, "/")
	if !hasKind {
		kind, name = "", arg
	} else if kinds[strings.ToLower(kind)] == "" {
		return Ref{}, fmt.Errorf("%q: unknown kind %q: write svc/NAME, deploy/NAME, pod/NAME or NAME", arg, kind)
	} else {
		kind = kinds[strings.ToLower(kind)]
	}
	svc, _, ok := istio.ParseService(name, defaultNamespace)
	if !ok || svc.Name == "" {
		return Ref{}, fmt.Errorf("%q is not a name: write NAME or NAME.NAMESPACE", arg)
	}
	for _, part := range []string{svc.Name, svc.Namespace} {
		if errs := validation.IsDNS1123Subdomain(part); len(errs) > 0 {
			return Ref{}, fmt.Errorf("%q: %q is not a valid name: %s", arg, part, strings.Join(errs, "; "))
		}
	}
	return Ref{Kind: kind, Name: svc.Name, Namespace: svc.Namespace}, nil
}

// Resolve finds the two ends among the objects read: the destination Service or workload
// pods, and the source's pods (srcPods are its namespace's; srcLabels that namespace's labels).
func Resolve(in *Input, src, dst Ref, srcPods []corev1.Pod, srcLabels map[string]string) error {
	if err := resolveDestination(in, dst); err != nil {
		return err
	}
	in.Source = Source{Name: src.Name, Namespace: src.Namespace, Outside: src.Outside, Principal: src.Principal, RequestPrincipal: src.RequestPrincipal, NamespaceLabels: srcLabels}
	if src.Outside || src.Principal != "" {
		return nil
	}
	in.Source.Pods = workloadPods(srcPods, src)
	if len(in.Source.Pods) == 0 {
		return fmt.Errorf("SOURCE %s: no running pod of that workload in namespace %q%s", src.Name, src.Namespace, didYouMean(src.Name, workloadNames(srcPods)))
	}
	return nil
}

func resolveDestination(in *Input, dst Ref) error {
	if dst.Kind == "" || dst.Kind == "svc" {
		for i := range in.Services {
			if in.Services[i].Name == dst.Name {
				in.Service = &in.Services[i]
				return nil
			}
		}
		if dst.Kind == "svc" {
			names := make([]string, 0, len(in.Services))
			for _, s := range in.Services {
				names = append(names, s.Name)
			}
			return fmt.Errorf("DESTINATION: service %q not found in namespace %q%s", dst.Name, dst.Namespace, didYouMean(dst.Name, names))
		}
	}
	in.WorkloadPods = workloadPods(in.Pods, dst)
	if len(in.WorkloadPods) == 0 {
		return fmt.Errorf("DESTINATION %s: no Service and no running workload of that name in namespace %q%s", dst.Name, dst.Namespace, didYouMean(dst.Name, workloadNames(in.Pods)))
	}
	return nil
}

// workloadPods are the running pods ref names: by pod name, by the Deployment (or other
// owner) they belong to, or, for a bare name, as graph names workloads (owner), then by app
// label, then by canonical service.
func workloadPods(pods []corev1.Pod, ref Ref) []corev1.Pod {
	matchers := []func(*corev1.Pod) bool{func(p *corev1.Pod) bool { return ownerName(p) == ref.Name }}
	switch ref.Kind {
	case "pod":
		matchers = []func(*corev1.Pod) bool{func(p *corev1.Pod) bool { return p.Name == ref.Name }}
	case "", "svc":
		matchers = append(matchers,
			func(p *corev1.Pod) bool { return p.Labels["app"] == ref.Name },
			func(p *corev1.Pod) bool { return p.Labels["service.istio.io/canonical-name"] == ref.Name },
			func(p *corev1.Pod) bool { return p.Name == ref.Name })
	}
	for _, match := range matchers {
		var out []corev1.Pod
		for i := range pods {
			p := &pods[i]
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && match(p) {
				out = append(out, *p)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// ownerName is the workload a pod belongs to: its Deployment (the ReplicaSet's name without
// its hash), its StatefulSet, DaemonSet or Job; a pod without an owner goes by its name
// without the last part ("reviews-v1-0" -> "reviews-v1").
func ownerName(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if o.Kind == "ReplicaSet" {
			if i := strings.LastIndex(o.Name, "-"); i > 0 {
				return o.Name[:i]
			}
		}
		return o.Name
	}
	if i := strings.LastIndex(p.Name, "-"); i > 0 {
		return p.Name[:i]
	}
	return p.Name
}

func workloadNames(pods []corev1.Pod) []string {
	seen := map[string]bool{}
	for i := range pods {
		seen[ownerName(&pods[i])] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// didYouMean suggests the names closest to name (sharing a prefix or contained in it).
func didYouMean(name string, names []string) string {
	var close []string
	for _, n := range names {
		if n != name && (strings.HasPrefix(n, name) || strings.HasPrefix(name, n) || strings.Contains(n, name)) {
			close = append(close, n)
		}
	}
	if len(close) == 0 {
		return ""
	}
	if len(close) > 3 {
		close = close[:3]
	}
	return "; did you mean " + strings.Join(close, ", ") + "?"
}

// WaypointNamespace is the namespace of the waypoint the destination uses, if named on the
// Service or its namespace.
func WaypointNamespace(in Input) string {
	if in.Service != nil {
		if ref, ok := istio.UseWaypoint("Service", in.Service.Name, in.Namespace, in.Service.Labels, in.NamespaceLabels); ok {
			return ref.Namespace
		}
	}
	return ""
}

// CanonicalService is how Istio's metrics name a pod's service: its canonical-name label,
// else app.kubernetes.io/name, else app, else fallback.
func CanonicalService(labels map[string]string, fallback string) string {
	for _, key := range []string{"service.istio.io/canonical-name", "app.kubernetes.io/name", "app"} {
		if v := labels[key]; v != "" {
			return v
		}
	}
	return fallback
}

// WorkloadOf is the workload a pod belongs to, as Istio's metrics name it (its Deployment).
func WorkloadOf(p *corev1.Pod) string { return ownerName(p) }
