package whatif

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

// replayer finds where each observed edge ends in the cluster.
type replayer struct {
	c Cluster
	// waypoints are the identities of the waypoints: a destination's ztunnel reports the
	// waypoint as the caller of the requests it carries, each replayed with its real caller.
	waypoints map[string]bool
}

func newReplayer(c Cluster) *replayer {
	r := &replayer{c: c, waypoints: map[string]bool{}}
	for i := range c.Pods {
		if pod := &c.Pods[i]; istio.IsWaypointPod(pod) {
			r.waypoints[c.Mesh.Principal(pod.Namespace, serviceAccount(pod))] = true
		}
	}
	for _, svc := range c.Services {
		if ref, ok := istio.UseWaypoint("Service", svc.Name, svc.Namespace, svc.Labels, c.NamespaceLabels[svc.Namespace]); ok {
			r.waypoints[r.waypointPrincipal(ref)] = true
		}
	}
	return r
}

// targets are the pods an observed edge ends at, one per distinct labels and data plane, with
// where Istio authorizes its requests. carried: the edge is a waypoint's hop to a backend,
// replayed with each caller the waypoint carries. problem says why an edge cannot be replayed.
func (r *replayer) targets(o Observation) (out []target, carried bool, problem string) {
	if o.Reporter == ReporterDestination && o.MTLS && r.waypoints[o.Source.Principal] {
		return nil, true, ""
	}
	svc := r.service(o.Destination)
	pods := r.destinationPods(o.Destination, o.Reporter, svc)
	if len(pods) == 0 {
		return nil, false, fmt.Sprintf("%s -> %s: no such pods run now", o.Source, o.Destination)
	}
	seen := map[string]bool{}
	for _, pod := range pods {
		shape := istio.Dataplane(pod, r.c.NamespaceLabels[pod.Namespace]) + fmt.Sprint(istio.IsGatewayPod(pod)) + labels.Set(pod.Labels).String()
		if seen[shape] {
			continue
		}
		seen[shape] = true
		if o.Reporter != ReporterWaypoint {
			out = append(out, target{pod: pod, port: targetPort(svc, pod), hops: istio.Hops(pod, r.c.NamespaceLabels[pod.Namespace], "", "")})
			continue
		}
		for _, front := range r.waypointServices(svc, pod) {
			t := target{pod: pod, port: targetPort(front.service, pod)}
			service, waypoint := "", ""
			if front.service != nil && front.waypoint != nil {
				service, waypoint = front.service.Namespace+"/"+front.service.Name, front.waypoint.Namespace+"/"+front.waypoint.Name
				t.waypointPrincipal = r.waypointPrincipal(*front.waypoint)
			}
			t.hops = istio.Hops(pod, r.c.NamespaceLabels[pod.Namespace], service, waypoint)
			out = append(out, t)
		}
	}
	return out, false, ""
}

// front is a Service a caller may have asked for, and the waypoint that carries it.
type front struct {
	service  *corev1.Service
	waypoint *istio.WaypointRef
}

// waypointServices are the Services whose waypoint may have carried a request a waypoint
// reported to pod: the Service it names when that one uses a waypoint; else (a waypoint names
// the backend's Service, reviews-v1 where the caller asked for reviews) each Service of the
// pod's namespace that selects the pod and uses a waypoint; else the one it names, without
// waypoint (the label is gone since).
func (r *replayer) waypointServices(named *corev1.Service, pod *corev1.Pod) []front {
	uses := func(svc *corev1.Service) *istio.WaypointRef {
		if ref, ok := istio.UseWaypoint("Service", svc.Name, svc.Namespace, svc.Labels, r.c.NamespaceLabels[svc.Namespace]); ok {
			return &ref
		}
		return nil
	}
	if named != nil {
		if ref := uses(named); ref != nil {
			return []front{{named, ref}}
		}
	}
	var out []front
	for i := range r.c.Services {
		svc := &r.c.Services[i]
		if svc.Namespace != pod.Namespace || len(svc.Spec.Selector) == 0 || !istio.SelectorMatches(svc.Spec.Selector, pod.Labels) {
			continue
		}
		if ref := uses(svc); ref != nil {
			out = append(out, front{svc, ref})
		}
	}
	if len(out) == 0 {
		return []front{{service: named}}
	}
	return out
}

// service is the Service the edge's caller asked for, when telemetry names one that exists.
func (r *replayer) service(d Destination) *corev1.Service {
	for i := range r.c.Services {
		if svc := &r.c.Services[i]; svc.Namespace == d.Namespace && svc.Name == d.Service && d.Service != "" {
			return svc
		}
	}
	return nil
}

// destinationPods are the running pods telemetry's destination names: by its app and version
// labels (narrowed to the workload it names, when some pod's owner says which), else the
// pods of the Service called (a waypoint that refused a request names no workload).
// Waypoints' own pods are never a destination: their policies apply to the Services they carry.
func (r *replayer) destinationPods(d Destination, reporter string, svc *corev1.Service) []*corev1.Pod {
	var matching, named []*corev1.Pod
	for i := range r.c.Pods {
		pod := &r.c.Pods[i]
		if pod.Namespace != d.Namespace || finished(pod) || istio.IsWaypointPod(pod) {
			continue
		}
		switch {
		case d.App != "":
			if !appMatches(pod, d, reporter, istio.Dataplane(pod, r.c.NamespaceLabels[pod.Namespace])) {
				continue
			}
		case svc != nil:
			if len(svc.Spec.Selector) == 0 || !istio.SelectorMatches(svc.Spec.Selector, pod.Labels) {
				continue
			}
		case d.Workload == "" || workloadName(pod) != d.Workload:
			continue
		}
		matching = append(matching, pod)
		if d.Workload != "" && workloadName(pod) == d.Workload {
			named = append(named, pod)
		}
	}
	if len(named) > 0 {
		return named
	}
	return matching
}

// appMatches: the pod's labels name it as telemetry's destination does, read as the report's
// reporter names pods (a sidecar by app and version, ztunnel and waypoints by canonical
// service and revision), as lockdown reads them.
func appMatches(pod *corev1.Pod, d Destination, reporter, dataplane string) bool {
	app, version := istio.TelemetryName(reporter, dataplane, pod.Labels)
	return app != "" && app == d.App && version == d.Version
}

// workloadName is the workload Istio's telemetry names for pod: its controller (a
// Deployment for the ReplicaSets it names NAME-HASH), else the pod itself.
func workloadName(pod *corev1.Pod) string {
	for _, ref := range pod.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if hash := pod.Labels["pod-template-hash"]; ref.Kind == "ReplicaSet" && hash != "" {
			return strings.TrimSuffix(ref.Name, "-"+hash)
		}
		return ref.Name
	}
	return pod.Name
}

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || pod.DeletionTimestamp != nil
}

// targetPort is the pod's port the Service sends to, when the Service has one port (telemetry
// does not say which port of several was called); 0: any.
func targetPort(svc *corev1.Service, pod *corev1.Pod) int {
	if svc == nil || len(svc.Spec.Ports) != 1 {
		return 0
	}
	p := svc.Spec.Ports[0]
	switch {
	case p.TargetPort.Type == intstr.String && p.TargetPort.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == p.TargetPort.StrVal {
					return int(cp.ContainerPort)
				}
			}
		}
		return 0
	case p.TargetPort.IntVal != 0:
		return int(p.TargetPort.IntVal)
	}
	return int(p.Port)
}

// waypointPrincipal is the identity a waypoint shows the destination's ztunnel: its pods'
// service account, else the one Istio deploys a waypoint with (its name).
func (r *replayer) waypointPrincipal(ref istio.WaypointRef) string {
	for i := range r.c.Pods {
		pod := &r.c.Pods[i]
		if pod.Namespace == ref.Namespace && pod.Labels[istio.GatewayNameLabel] == ref.Name && istio.IsWaypointPod(pod) {
			return r.c.Mesh.Principal(pod.Namespace, serviceAccount(pod))
		}
	}
	return r.c.Mesh.Principal(ref.Namespace, ref.Name)
}

func serviceAccount(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}
