package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
)

// runAuto sets each step's weight, holds it for the interval, and judges the canary's own
// traffic over that interval. A failed gate (or no traffic), a step that cannot be written
// and Ctrl-C roll back to stable and fail; every step passed promotes the canary. So a run
// ends with the route as it was or with the canary promoted, never half way.
func (o *CanaryOptions) runAuto(ctx context.Context) error {
	prom, err := o.prometheus(ctx)
	if err != nil {
		return fmt.Errorf("--auto judges the canary by its telemetry: %w", err)
	}
	out := o.streams.Out
	window := fmt.Sprintf("%ds", int(o.Interval.Seconds()))
	req := o.Request
	// Plan the first step without writing it, to learn which subset will be judged and to
	// refuse before any traffic moves when its telemetry cannot be told apart.
	in, _, err := o.clients.ReadCanaryInput(ctx, o.service)
	if err != nil {
		return err
	}
	req.Percent = &o.Steps[0]
	first, err := canary.Compute(in, req)
	if err != nil {
		return err
	}
	subset := first.Canary
	version, err := versionOf(first, subset)
	if err != nil {
		return fmt.Errorf("--auto: %w", err)
	}
	// From the first write on, the record on the route fixes the roles.
	req.Canary = subset
	for i, step := range o.Steps {
		req.Percent = &step
		plan, _, err := o.apply(ctx, req)
		switch {
		case err != nil && i == 0:
			return err // the write was refused or reverted: nothing moved
		case err != nil && ctx.Err() != nil:
			return o.interrupted(i)
		case err != nil:
			return o.rollBack(fmt.Sprintf("step %d/%d could not be set: %v", i+1, len(o.Steps), err))
		}
		fmt.Fprintf(out, "step %d/%d: %s; holding %s\n", i+1, len(o.Steps), plan.Summary(), o.Interval)
		select {
		case <-ctx.Done():
			return o.interrupted(i)
		case <-time.After(o.Interval):
		}
		figures, err := prom.VersionFigures(ctx, figureScope(plan), window, time.Now())
		if err != nil {
			if ctx.Err() != nil {
				return o.interrupted(i)
			}
			return o.rollBack(fmt.Sprintf("no telemetry to judge step %d/%d by: %v", i+1, len(o.Steps), err))
		}
		f := figures[version]
		pass, reason := canary.Judge(f, o.Limits)
		verdict := "pass"
		if !pass {
			verdict = "FAIL: " + reason
		}
		fmt.Fprintf(out, "  %s over %s: %s (limits: errors %g%%, p99 %s): %s\n", subset, o.Interval, f, o.Limits.MaxErrorRatePercent, p99Limit(o.Limits), verdict)
		if !pass {
			return o.rollBack(fmt.Sprintf("canary %s failed at step %d/%d (%d%%): %s (%s)", subset, i+1, len(o.Steps), step, reason, f))
		}
	}
	plan, _, err := o.apply(context.WithoutCancel(ctx), canary.Request{Promote: true})
	if err != nil {
		return o.rollBack(fmt.Sprintf("all %d steps passed, but promoting %s failed: %v", len(o.Steps), subset, err))
	}
	_, err = fmt.Fprintf(out, "all %d steps passed: %s\n", len(o.Steps), plan.Summary())
	return err
}

func p99Limit(l canary.Limits) string {
	if l.MaxP99 == 0 {
		return "none"
	}
	return l.MaxP99.String()
}

// versionOf is the version label of a version's pods, which Istio reports as
// destination_version: the only way to tell its traffic apart from stable's.
func versionOf(plan *canary.Plan, name string) (string, error) {
	for _, b := range plan.Backends {
		if b.Name == name && b.Version != "" {
			return b.Version, nil
		}
	}
	return "", fmt.Errorf("%s %s does not select pods by a version label, so its traffic cannot be told apart in Istio's metrics (destination_version)", plan.API.Term, name)
}

// rollBack returns all traffic to stable after a failed step, with a context that Ctrl-C has
// not cancelled, and reports why.
func (o *CanaryOptions) rollBack(reason string, next ...string) error {
	plan, _, err := o.apply(context.Background(), canary.Request{Rollback: true})
	if err != nil {
		return fmt.Errorf("%s; rolling back failed too: %v\nonce the cluster answers: kubectl mesh canary %s -n %s --rollback", reason, err, o.service.Name, o.service.Namespace)
	}
	fmt.Fprintln(o.streams.Out, plan.Summary())
	return errors.New(strings.Join(append([]string{reason + "; rolled back"}, next...), "\n"))
}

// interrupted rolls back to stable after Ctrl-C during --auto (a canary half way, judged by no
// one, is not left serving), and says how to start again.
func (o *CanaryOptions) interrupted(index int) error {
	steps := make([]string, len(o.Steps))
	for i, s := range o.Steps {
		steps[i] = fmt.Sprint(s)
	}
	return o.rollBack(fmt.Sprintf("interrupted at step %d/%d (Ctrl-C or a termination signal)", index+1, len(o.Steps)),
		fmt.Sprintf("to start again: kubectl mesh canary %s --auto --steps %s --interval %s", o.serviceArg, strings.Join(steps, ","), o.Interval))
}
