package sim

import (
	"sort"
	"strconv"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// MTLSMode is a PeerAuthentication mode as a destination sidecar enforces it.
type MTLSMode string

// The modes; UNSET inherits from the next level up.
const (
	Strict     MTLSMode = "STRICT"
	Permissive MTLSMode = "PERMISSIVE"
	Disable    MTLSMode = "DISABLE"
)

// EffectiveMTLS is the mode a workload's sidecar enforces on port: a workload
// PeerAuthentication (port-level first), else the namespace-wide one (the oldest), else the
// mesh-wide one in the root namespace, else PERMISSIVE. UNSET defers to the next level.
func EffectiveMTLS(pas []*securityv1.PeerAuthentication, w *Workload, port uint32) MTLSMode {
	var workload, namespace, mesh []*securityv1.PeerAuthentication
	for _, pa := range pas {
		selector := pa.Spec.GetSelector().GetMatchLabels()
		switch {
		case pa.Namespace == w.Namespace && len(selector) > 0 && matchesLabels(selector, w.Labels):
			workload = append(workload, pa)
		case pa.Namespace == w.Namespace && len(selector) == 0:
			namespace = append(namespace, pa)
		case pa.Namespace == RootNamespace && len(selector) == 0:
			mesh = append(mesh, pa)
		}
	}
	for _, level := range [][]*securityv1.PeerAuthentication{workload, namespace, mesh} {
		oldestFirst(level)
		for _, pa := range level {
			if m, ok := pa.Spec.GetPortLevelMtls()[port]; ok {
				if mode := modeOf(m.GetMode()); mode != "" {
					return mode
				}
			}
			if mode := modeOf(pa.Spec.GetMtls().GetMode()); mode != "" {
				return mode
			}
			break // Istio honours the oldest policy of a level only
		}
	}
	return Permissive
}

func modeOf(m securityapi.PeerAuthentication_MutualTLS_Mode) MTLSMode {
	switch m {
	case securityapi.PeerAuthentication_MutualTLS_STRICT:
		return Strict
	case securityapi.PeerAuthentication_MutualTLS_PERMISSIVE:
		return Permissive
	case securityapi.PeerAuthentication_MutualTLS_DISABLE:
		return Disable
	}
	return ""
}

func oldestFirst(pas []*securityv1.PeerAuthentication) {
	sort.SliceStable(pas, func(i, j int) bool {
		ti, tj := pas[i].CreationTimestamp, pas[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return pas[i].Name < pas[j].Name
	})
}

// Call is one request as the destination's sidecar sees it, for authorization.
type Call struct {
	Principal string // the peer's identity without spiffe://; empty without mTLS
	Namespace string // the peer's namespace; empty without mTLS
	Method    string
	Path      string
	Host      string
	Port      uint32
	Headers   map[string]string
}

// Authorize decides as Istio does: CUSTOM policies are ignored here; any matching DENY rule
// denies; with no ALLOW policy everything else is allowed; with ALLOW policies a rule of one
// must match. Policies apply when they are in the workload's namespace (selector matching it,
// or none) or in the root namespace without a selector.
func Authorize(aps []*securityv1.AuthorizationPolicy, w *Workload, c Call) bool {
	var allowPolicies int
	allowed := false
	for _, ap := range aps {
		if !applies(ap, w) {
			continue
		}
		switch ap.Spec.GetAction() {
		case securityapi.AuthorizationPolicy_DENY:
			if anyRule(ap.Spec.GetRules(), c) {
				return false
			}
		case securityapi.AuthorizationPolicy_ALLOW:
			allowPolicies++
			allowed = allowed || anyRule(ap.Spec.GetRules(), c)
		}
	}
	return allowPolicies == 0 || allowed
}

func applies(ap *securityv1.AuthorizationPolicy, w *Workload) bool {
	if targeted(ap) {
		return false // for gateways and waypoints, not for the workload's own proxy
	}
	selector := ap.Spec.GetSelector().GetMatchLabels()
	switch ap.Namespace {
	case w.Namespace:
		return len(selector) == 0 || matchesLabels(selector, w.Labels)
	case RootNamespace:
		return len(selector) == 0 || matchesLabels(selector, w.Labels) && w.Namespace == RootNamespace
	}
	return false
}

// anyRule: a policy without rules matches nothing; an empty rule matches everything.
func anyRule(rules []*securityapi.Rule, c Call) bool {
	for _, r := range rules {
		if ruleMatches(r, c) {
			return true
		}
	}
	return false
}

// ruleMatches: every part present must match; within from or to, any element may.
func ruleMatches(r *securityapi.Rule, c Call) bool {
	if len(r.GetFrom()) > 0 {
		ok := false
		for _, f := range r.GetFrom() {
			ok = ok || sourceMatches(f.GetSource(), c)
		}
		if !ok {
			return false
		}
	}
	if len(r.GetTo()) > 0 {
		ok := false
		for _, t := range r.GetTo() {
			ok = ok || operationMatches(t.GetOperation(), c)
		}
		if !ok {
			return false
		}
	}
	for _, cond := range r.GetWhen() {
		if !conditionMatches(cond, c) {
			return false
		}
	}
	return true
}

// field checks one positive and one negative list: a set positive list must match, a set
// negative list must not.
func field(values, notValues []string, value string) bool {
	if len(values) > 0 && !matchAny(values, value) {
		return false
	}
	return len(notValues) == 0 || !matchAny(notValues, value)
}

func sourceMatches(s *securityapi.Source, c Call) bool {
	if s == nil {
		return true
	}
	// Sources the simulator never produces (JWTs, client IPs) cannot match.
	if len(s.GetRequestPrincipals()) > 0 || len(s.GetIpBlocks()) > 0 || len(s.GetRemoteIpBlocks()) > 0 {
		return false
	}
	return field(s.GetPrincipals(), s.GetNotPrincipals(), c.Principal) &&
		field(s.GetNamespaces(), s.GetNotNamespaces(), c.Namespace)
}

func operationMatches(o *securityapi.Operation, c Call) bool {
	if o == nil {
		return true
	}
	port := strconv.Itoa(int(c.Port))
	return field(o.GetMethods(), o.GetNotMethods(), c.Method) &&
		field(o.GetPaths(), o.GetNotPaths(), c.Path) &&
		field(o.GetPorts(), o.GetNotPorts(), port) &&
		field(o.GetHosts(), o.GetNotHosts(), c.Host)
}

func conditionMatches(cond *securityapi.Condition, c Call) bool {
	var value string
	key := cond.GetKey()
	switch {
	case key == "source.principal":
		value = c.Principal
	case key == "source.namespace":
		value = c.Namespace
	case key == "destination.port":
		value = strconv.Itoa(int(c.Port))
	case key == "request.method":
		value = c.Method
	case strings.HasPrefix(key, "request.headers[") && strings.HasSuffix(key, "]"):
		value = c.Headers[strings.ToLower(key[len("request.headers["):len(key)-1])]
	default:
		return false // a condition on something the simulator does not model
	}
	return field(cond.GetValues(), cond.GetNotValues(), value)
}
