package canary

// StatusReport is the status for -o json|yaml: what the table shows, as data. The route is
// printed with -o only when a change writes it; a status reports.
type StatusReport struct {
	Service    string      `json:"service"`
	Namespace  string      `json:"namespace"`
	Route      *RouteRef   `json:"route"` // null: no route carries the service's traffic
	InProgress bool        `json:"inProgress"`
	Stable     string      `json:"stable,omitempty"`
	Canary     string      `json:"canary,omitempty"`
	Waypoint   string      `json:"waypoint,omitempty"` // namespace/name, in ambient mode
	Versions   []VersionAt `json:"versions"`
}

// RouteRef names the route and the rule of it that carries the service's traffic.
type RouteRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Rule string `json:"rule"`
}

// VersionAt is one version (subset or version Service) of the status.
type VersionAt struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"` // stable, canary, or none
	// Weight is its share of the rule in percent; null when no route sets one.
	Weight *int64 `json:"weight"`
	// Pods and ReadyPods serve it; null when they could not be read, or (ReadyPods) when the
	// route names a version that does not exist.
	Pods      *int `json:"pods"`
	ReadyPods *int `json:"readyPods"`
	// Live are the last minute's figures, when Prometheus gave them.
	Live *LiveFigures `json:"live,omitempty"`
}

// LiveFigures are a version's requests per second, error rate (0 to 1) and p99 (null without
// a latency figure).
type LiveFigures struct {
	RPS       float64  `json:"rps"`
	ErrorRate float64  `json:"errorRate"`
	P99Ms     *float64 `json:"p99Ms"`
}

// Report is the plan's status as data, with live figures per version when there are any.
func (p *Plan) Report(live map[string]Figures) StatusReport {
	r := StatusReport{Service: p.Service.Name, Namespace: p.Service.Namespace, InProgress: p.InProgress, Waypoint: p.Waypoint, Versions: []VersionAt{}}
	if p.Route != nil {
		r.Route = &RouteRef{Kind: p.Route.GetKind(), Name: p.Route.GetName(), Rule: p.Rule}
		r.Stable, r.Canary = p.Stable, p.Canary
	}
	listed := map[string]bool{}
	for _, b := range p.Backends {
		listed[b.Name] = true
		v := p.versionAt(b.Name)
		if b.Pods != unknown {
			v.Pods = &b.Pods
		}
		if b.ReadyPods != unknown {
			v.ReadyPods = &b.ReadyPods
		}
		if f, ok := live[b.Name]; ok {
			v.Live = &LiveFigures{RPS: f.RPS, ErrorRate: f.ErrorRate}
			if f.HasP99 {
				v.Live.P99Ms = &f.P99Ms
			}
		}
		r.Versions = append(r.Versions, v)
	}
	for _, w := range p.After { // versions the route names that do not exist, as the table lists them
		if !listed[w.Backend] {
			r.Versions = append(r.Versions, p.versionAt(w.Backend))
		}
	}
	return r
}

func (p *Plan) versionAt(backend string) VersionAt {
	v := VersionAt{Name: backend}
	if backend == "" {
		v.Name = "(all pods)" // a route to the Service itself, as the table says it
	}
	if role := p.role(backend); role != "-" {
		v.Role = role
	}
	if p.Route != nil {
		weight := WeightOf(p.After, backend)
		v.Weight = &weight
	}
	return v
}
