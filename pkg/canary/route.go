package canary

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A route as the API server returned it; the helpers below read and change only its rules'
// weighted entries.

// rules returns the route's rules (spec.http, spec.rules) as maps that share storage with the
// route, so that changes to them change it.
func (a routeAPI) rulesOf(route *unstructured.Unstructured) []map[string]any {
	spec, _ := route.Object["spec"].(map[string]any)
	list, _ := spec[a.rules].([]any)
	rules := make([]map[string]any, 0, len(list))
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			rules = append(rules, m)
		}
	}
	return rules
}

// ruleRef identifies one rule of a route for messages and the record.
type ruleRef struct {
	term  string // route (VirtualService) or rule (Gateway API)
	index int
	name  string
}

// key is how the canary record refers to the rule: its name, else its position.
func (r ruleRef) key() string {
	if r.name != "" {
		return r.name
	}
	return fmt.Sprintf("#%d", r.index)
}

func (r ruleRef) String() string {
	if r.name != "" {
		return fmt.Sprintf("%s %q", r.term, r.name)
	}
	return fmt.Sprintf("%s #%d", r.term, r.index)
}

// selectRule picks the rule to change: --route by name (or #index), else the only rule, else
// the catch-all; otherwise the user must choose.
func (p *Plan) selectRule(route *unstructured.Unstructured, want string) (ruleRef, map[string]any, error) {
	a := p.API
	rules := a.rulesOf(route)
	if len(rules) == 0 {
		what := "rules"
		if !a.gatewayAPI() {
			what = "http routes (tcp and tls routes are not supported)"
		}
		return ruleRef{}, nil, fmt.Errorf("%s: %s %s has no %s", p.Service, a.Kind, route.GetName(), what)
	}
	refs := make([]ruleRef, len(rules))
	for i, r := range rules {
		name, _ := r["name"].(string)
		refs[i] = ruleRef{term: a.RuleTerm, index: i, name: name}
	}
	if want != "" {
		for i, ref := range refs {
			if ref.name == want {
				return ref, rules[i], nil
			}
		}
		for i, ref := range refs {
			if want == fmt.Sprintf("#%d", ref.index) || want == fmt.Sprint(ref.index) {
				return ref, rules[i], nil
			}
		}
		return ruleRef{}, nil, fmt.Errorf("%s: %s %s has no %s %q; its %ss:\n%s", p.Service, a.Kind, route.GetName(), a.RuleTerm, want, a.RuleTerm, p.listRules(refs, rules))
	}
	if len(rules) == 1 {
		return refs[0], rules[0], nil
	}
	for i, r := range rules {
		if a.isCatchAll(r) {
			return refs[i], r, nil
		}
	}
	return ruleRef{}, nil, fmt.Errorf("%s: %s %s has %d %ss and none is a catch-all; pick one with --route NAME (or --route '#N'):\n%s",
		p.Service, a.Kind, route.GetName(), len(rules), a.RuleTerm, p.listRules(refs, rules))
}

func (p *Plan) listRules(refs []ruleRef, rules []map[string]any) string {
	lines := make([]string, len(rules))
	for i := range rules {
		lines[i] = p.describeRule(refs[i], rules[i])
	}
	return strings.Join(lines, "\n")
}

// describeRule is one line about a rule for the "which rule?" message.
func (p *Plan) describeRule(ref ruleRef, rule map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  #%d", ref.index)
	if ref.name != "" {
		fmt.Fprintf(&b, " name=%s", ref.name)
	}
	if p.API.isCatchAll(rule) {
		b.WriteString(" (catch-all)")
	} else {
		b.WriteString(" match: " + describeMatch(rule[p.API.matches]))
	}
	var dests []string
	for _, w := range p.API.weightsOf(p.API.destinations(rule, p.Service)) {
		dests = append(dests, fmt.Sprintf("%s %d%%", nameOf(w.Backend), w.Weight))
	}
	if len(dests) > 0 {
		b.WriteString(" -> " + strings.Join(dests, ", "))
	}
	return b.String()
}

// describeMatch summarises match conditions compactly: "uri prefix /api; headers end-user
// exact jason", or for Gateway API "path type PathPrefix; path value /api".
func describeMatch(match any) string {
	list, _ := match.([]any)
	var alternatives []string
	for _, m := range list {
		cond, _ := m.(map[string]any)
		var parts []string
		for _, field := range slices.Sorted(maps.Keys(cond)) {
			switch v := cond[field].(type) {
			case map[string]any:
				// uri: {prefix: /api}, or headers: {end-user: {exact: jason}}
				for _, k := range slices.Sorted(maps.Keys(v)) {
					if inner, ok := v[k].(map[string]any); ok {
						for _, op := range slices.Sorted(maps.Keys(inner)) {
							parts = append(parts, fmt.Sprintf("%s %s %s %v", field, k, op, inner[op]))
						}
					} else {
						parts = append(parts, fmt.Sprintf("%s %s %v", field, k, v[k]))
					}
				}
			default:
				parts = append(parts, fmt.Sprintf("%s %v", field, v))
			}
		}
		alternatives = append(alternatives, strings.Join(parts, "; "))
	}
	return strings.Join(alternatives, " OR ")
}
