package why

import (
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/istio"
)

func describeSource(in Input) Endpoint {
	s := in.Source
	switch {
	case s.Outside:
		return Endpoint{Kind: "outside", Namespace: s.Namespace, Dataplane: istio.DataplaneNone}
	case s.Principal != "" && len(s.Pods) == 0:
		return Endpoint{Kind: "principal", Principal: s.Principal}
	}
	e := Endpoint{Kind: "workload", Name: s.Name, Namespace: s.Namespace, Principal: in.principal()}
	if len(s.Pods) > 0 {
		e.Dataplane = istio.Dataplane(&s.Pods[0], s.NamespaceLabels)
	}
	return e
}

func describeDestination(in Input) Endpoint {
	if in.Service != nil {
		return Endpoint{Kind: "service", Name: in.Service.Name, Namespace: in.Namespace}
	}
	e := Endpoint{Kind: "workload", Namespace: in.Namespace}
	if len(in.WorkloadPods) > 0 {
		p := &in.WorkloadPods[0]
		e.Name, e.Dataplane = workloadName(p.Labels, p.Name), istio.Dataplane(p, in.NamespaceLabels)
	}
	return e
}

// workloadName is how graph names a workload: app and version, else the pod's name.
func workloadName(labels map[string]string, fallback string) string {
	app := labels["app"]
	if app == "" {
		app = labels["app.kubernetes.io/name"]
	}
	if app == "" {
		return fallback
	}
	if v := labels["version"]; v != "" {
		return app + "-" + v
	}
	return app
}

// sourceStep says who sends, on which data plane, as whom.
func sourceStep(in Input, e Endpoint) Step {
	switch e.Kind {
	case "outside":
		return Step{Step: "source", Detail: "outside the mesh: plaintext, no mesh identity"}
	case "principal":
		return Step{Step: "source", Detail: "a mesh caller with identity " + e.Principal + " (--principal)"}
	}
	object := fmt.Sprintf("%s/%s", e.Namespace, e.Name)
	switch e.Dataplane {
	case istio.DataplaneNone:
		return Step{Step: "source", Object: object, Detail: "no sidecar and not in ambient mode: sends plaintext, with no mesh identity"}
	case istio.DataplaneAmbient:
		return Step{Step: "source", Object: object, Detail: "ambient: its node's ztunnel sends for it, as " + e.Principal}
	}
	detail := "sidecar: its Envoy routes the request and sends it as " + e.Principal
	if in.Source.RequestPrincipal != "" {
		detail += ", with a token for " + in.Source.RequestPrincipal
	}
	return Step{Step: "source", Object: object, Detail: detail}
}
