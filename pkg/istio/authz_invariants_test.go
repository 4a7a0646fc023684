package istio

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The invariants of the evaluator that lockdown's proof rests on, checked on policies and
// requests drawn at random (FuzzAuthorizer draws them from the fuzzer's bytes).

// drawCheck draws policies and a request from data, and a policy whose spec is extra.
func drawCheck(data, extra []byte) authorizerCheck {
	b := &fuzzBytes{data: data}
	var set []*unstructured.Unstructured
	for i := range 1 + b.pick(4) {
		set = append(set, b.policy(fmt.Sprintf("p%d", i), ""))
	}
	if ap, ok := withSpec("extra", extra); ok {
		set = append(set, ap)
	}
	allowNothing := b.policy("added-allow-nothing", ActionAllow)
	unstructured.RemoveNestedField(allowNothing.Object, "spec", "rules")
	changed := slices.Clone(set)
	if len(changed) > 0 && b.pick(2) == 0 {
		i := b.pick(len(changed))
		changed = slices.Delete(changed, i, i+1)
	}
	if b.pick(2) == 0 {
		changed = append(changed, b.policy("added", ""))
	}
	c := authorizerCheck{
		before:    Authorizer{Policies: set, RootNamespace: testRoot},
		withAllow: Authorizer{Policies: append(slices.Clone(set), allowNothing), RootNamespace: testRoot},
		withDeny:  Authorizer{Policies: append(slices.Clone(set), b.policy("added-deny", ActionDeny)), RootNamespace: testRoot},
		changed:   Authorizer{Policies: changed, RootNamespace: testRoot},
		r:         b.request(),
	}
	for range 3 {
		c.concretes = append(c.concretes, b.concretize(c.r))
	}
	return c
}

// The fuzzer's invariants over a few thousand random draws, on every test run.
func TestAuthorizerInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 96)
	for range 5000 {
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		c := drawCheck(data, nil)
		for _, p := range fuzzPoints {
			c.check(t, p)
		}
		if t.Failed() {
			return
		}
	}
}

// authorizerCheck is one fuzzed request under a set of policies (before) and three changes
// of it: an ALLOW policy without rules added, a DENY policy added, anything changed.
type authorizerCheck struct {
	before, withAllow, withDeny, changed Authorizer
	r                                    Request
	concretes                            []Request // requests r stands for
}

// check: Wider(d, d) is false; an ALLOW policy without rules or a DENY policy never widens;
// a concrete request under modelled rules gets yes or no; Decide is sound (a yes or no for r
// is the answer for each request r stands for); Wider is sound (when it says no, no request
// r stands for is allowed after and denied before).
func (c authorizerCheck) check(t *testing.T, p Point) {
	t.Helper()
	d := c.before.Decide(p, c.r)
	fail := func(what string, after Authorizer) {
		t.Errorf("%s at %s for %+v\n  before: %s\n  after:  %s", what, p, c.r, describe(c.before.Policies), describe(after.Policies))
	}
	if Wider(d, d) {
		fail("Wider(d, d): "+d.Reason, c.before)
	}
	if a := c.withAllow.Decide(p, c.r); Wider(d, a) {
		fail("an ALLOW policy without rules widens: "+d.Reason+" -> "+a.Reason, c.withAllow)
	}
	if a := c.withDeny.Decide(p, c.r); Wider(d, a) {
		fail("a DENY policy widens: "+d.Reason+" -> "+a.Reason, c.withDeny)
	}
	if d.Allowed == Maybe && concrete(c.r) && modelled(c.before.Policies) {
		fail("a concrete request judged "+d.Reason, c.before)
	}
	a := c.changed.Decide(p, c.r)
	for _, r := range c.concretes {
		dr, ar := c.before.Decide(p, r), c.changed.Decide(p, r)
		if d.Allowed != Maybe && dr.Allowed != d.Allowed {
			fail(fmt.Sprintf("unsound: %s (%s), but %s (%s) for %+v", d.Allowed, d.Reason, dr.Allowed, dr.Reason, r), c.before)
		}
		if !Wider(d, a) && dr.Allowed == No && ar.Allowed == Yes {
			fail(fmt.Sprintf("Wider missed %+v: %s -> %s, for all of them %s -> %s", r, dr.Reason, ar.Reason, d.Reason, a.Reason), c.changed)
		}
	}
}
