package lockdown

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxObjectName is the longest name the API server takes (DNS-1123 subdomain).
const maxObjectName = 253

// uniqueNames makes every workload's name, and its ALLOW policy's object name, its own: pods
// app=api,version=v1 and pods app=api-v1 are both "api-v1", and app=api.v1 or app=API would
// share their policy's name. Workloads that collide are named from their whole selector
// instead (api-version-v1 beside api-v1); those still colliding get a short hash of their
// selector. The names depend on the workloads alone, so they stay from run to run; a workload
// keeps its plain name until another collides with it.
func uniqueNames(workloads []*Workload) {
	for _, rename := range []func(*Workload) string{labelledName, hashedName} {
		clashes := clashing(workloads)
		if len(clashes) == 0 {
			return
		}
		for _, w := range clashes {
			w.Name = rename(w)
		}
	}
	// Two workloads of one selector and data plane cannot exist; should they, a counter
	// still tells them apart, in the order of their selectors.
	ordered := slices.Clone(workloads)
	slices.SortStableFunc(ordered, func(a, b *Workload) int { return strings.Compare(identity(a), identity(b)) })
	taken := map[string]bool{}
	for _, w := range ordered {
		name := w.Name
		for i := 2; taken[policyName(name)]; i++ {
			name = withSuffix(w.Name, fmt.Sprint(i))
		}
		taken[policyName(name)] = true
		w.Name = name
	}
}

// clashing are the workloads whose policy names another workload's policy shares.
func clashing(workloads []*Workload) []*Workload {
	byName := map[string][]*Workload{}
	for _, w := range workloads {
		byName[policyName(w.Name)] = append(byName[policyName(w.Name)], w)
	}
	var out []*Workload
	for _, w := range workloads {
		if len(byName[policyName(w.Name)]) > 1 {
			out = append(out, w)
		}
	}
	return out
}

func policyName(workload string) string { return objectName(allowPrefix + workload) }

// labelledName is the app's value, then each other selector label as key-value (the key's
// last path segment): api-version-v1, worker-version-2.1, web-track-green. An app label other
// than app is named too: name-api.
func labelledName(w *Workload) string {
	var parts []string
	rest := maps.Clone(w.Selector)
	for _, key := range appLabels {
		if v, ok := rest[key]; ok {
			if key != "app" {
				parts = append(parts, shortKey(key))
			}
			parts = append(parts, v)
			delete(rest, key)
			break
		}
	}
	for _, key := range slices.Sorted(maps.Keys(rest)) {
		parts = append(parts, shortKey(key), rest[key])
	}
	return strings.Join(parts, "-")
}

func shortKey(key string) string {
	return key[strings.LastIndex(key, "/")+1:]
}

// hashedName is the labelled name with a hash of the selector and data plane.
func hashedName(w *Workload) string {
	sum := sha256.Sum256([]byte(identity(w)))
	return withSuffix(labelledName(w), hex.EncodeToString(sum[:])[:6])
}

// identity is what sets a workload apart from every other: its selector and data plane.
func identity(w *Workload) string { return formatSelector(w.Selector) + " " + w.Dataplane }

// withSuffix appends suffix to name, shortening name so that the policy's object name keeps it.
func withSuffix(name, suffix string) string {
	if room := maxObjectName - len(allowPrefix) - len(suffix) - 1; len(name) > room {
		name = name[:room]
	}
	return name + "-" + suffix
}
