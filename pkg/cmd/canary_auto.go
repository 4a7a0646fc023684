package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/canary"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/mesh"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/telemetry"
)

// autoOptions are --auto's: the steps, how long each is held, and the gates.
type autoOptions struct {
	Auto     bool
	Steps    []int
	Interval time.Duration
	Limits   canary.Limits
	MaxHolds int

	maxErrorIncrease float64
	flags            *pflag.FlagSet // to tell a gate given from its default
}

func (o *autoOptions) addAutoFlags(f *pflag.FlagSet) {
	o.flags = f
	f.BoolVar(&o.Auto, "auto", false, "Step through --steps, judging the canary's telemetry after each --interval; roll back on a failed gate, promote after the last step.")
	f.IntSliceVar(&o.Steps, "steps", []int{10, 25, 50, 100}, "Canary weights for --auto, in percent, ascending.")
	durationVar(f, &o.Interval, "interval", time.Minute, "How long --auto holds each step before judging it.")
	f.Float64Var(&o.Limits.MaxErrorRatePercent, "max-error-rate", 1, "--auto gate: the canary's highest acceptable error rate, in percent (5xx and no response).")
	durationVar(f, &o.Limits.MaxP99, "max-p99", 0, "--auto gate: the canary's highest acceptable p99 latency, e.g. 500ms (default: no latency gate).")
	f.Float64Var(&o.maxErrorIncrease, "max-error-increase", 0, "--auto gate: how many percentage points the canary's error rate may exceed stable's over the same interval (default: no such gate).")
	f.Float64Var(&o.Limits.MaxP99Ratio, "max-p99-ratio", 0, "--auto gate: how many times stable's p99 the canary's may be over the same interval, e.g. 1.5 (default: no such gate).")
	f.IntVar(&o.Limits.MinRequests, "min-requests", 20, "--auto: the fewest canary requests in an interval worth judging; fewer holds the step for another interval.")
	f.IntVar(&o.MaxHolds, "max-holds", 3, "--auto: how many more intervals a step with too few requests is held before rolling back.")
}

func (o *autoOptions) validateAuto() error {
	if err := validateSteps(o.Steps); err != nil {
		return err
	}
	switch {
	case o.Interval < time.Second:
		return fmt.Errorf("--interval %s is too short to judge: give at least 1s (and more than the Prometheus scrape interval)", o.Interval)
	case o.Limits.MaxErrorRatePercent < 0 || o.Limits.MaxErrorRatePercent > 100:
		return fmt.Errorf("--max-error-rate %g: give a percentage from 0 to 100", o.Limits.MaxErrorRatePercent)
	case o.maxErrorIncrease < 0 || o.maxErrorIncrease > 100:
		return fmt.Errorf("--max-error-increase %g: give percentage points from 0 to 100", o.maxErrorIncrease)
	case o.Limits.MaxP99Ratio < 0:
		return fmt.Errorf("--max-p99-ratio %g: give a ratio above 0, e.g. 1.5", o.Limits.MaxP99Ratio)
	case o.Limits.MinRequests < 0:
		return fmt.Errorf("--min-requests %d: give 0 or more", o.Limits.MinRequests)
	case o.MaxHolds < 0:
		return fmt.Errorf("--max-holds %d: give 0 or more", o.MaxHolds)
	}
	if o.flags != nil && o.flags.Changed("max-error-increase") {
		o.Limits.MaxErrorIncrease = &o.maxErrorIncrease
	}
	return nil
}

// runAuto sets each step's weight, holds it for the interval, and judges the canary's traffic
// over that interval against the absolute limits and against stable's over the same
// interval. Too few requests hold the step for another interval (up to --max-holds). A
// failed gate, data that never comes, a step that cannot be written and Ctrl-C roll back to
// stable and fail; every step passed promotes the canary. So a run ends with the route as
// it was or with the canary promoted, never half way. With --dry-run it prints the plan.
func (o *CanaryOptions) runAuto(ctx context.Context) error {
	// Plan the first step without writing it, to learn which versions will be judged and to
	// refuse before any traffic moves when their telemetry cannot be told apart.
	req := o.Request
	req.Percent = &o.Steps[0]
	first, err := o.planFirstStep(ctx, req)
	if err != nil {
		return err
	}
	j, err := newJudging(first, o.Limits)
	if err != nil {
		return fmt.Errorf("--auto: %w", err)
	}
	if o.dryRun != mesh.DryRunNone {
		return o.printAutoPlan(o.streams.Out, first, j)
	}
	prom, err := o.autoPrometheus(ctx)
	if err != nil {
		return fmt.Errorf("--auto judges the canary by its telemetry: %w", err)
	}
	fmt.Fprint(o.streams.Out, o.autoClustersNote())
	// From the first write on, the record on the route fixes the roles.
	req.Canary = j.canary
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
		fmt.Fprintf(o.streams.Out, "step %d/%d: %s; holding %s\n", i+1, len(o.Steps), o.stepSummary(plan), o.Interval)
		if err := o.judgeStep(ctx, prom, plan, j, i, step); err != nil {
			return err
		}
	}
	plan, _, err := o.apply(context.WithoutCancel(ctx), canary.Request{Promote: true})
	if err != nil {
		return o.rollBack(fmt.Sprintf("all %d steps passed, but promoting %s failed: %v", len(o.Steps), j.canary, err))
	}
	_, err = fmt.Fprintf(o.streams.Out, "all %d steps passed: %s\n", len(o.Steps), o.stepSummary(plan))
	return err
}

// judging is what --auto compares: the canary's and stable's versions (as Istio reports
// them in destination_version: plan.FigureVersion), and stable's last figures with traffic,
// for the step where stable receives none.
type judging struct {
	canary, stable               string // backends
	canaryVersion, stableVersion string
	limits                       canary.Limits
	lastStable                   canary.Figures
	haveStable                   bool
}

func newJudging(first *canary.Plan, limits canary.Limits) (*judging, error) {
	j := &judging{canary: first.Canary, stable: first.Stable, limits: limits}
	var err error
	if j.canaryVersion, err = first.FigureVersion(first.Canary); err != nil {
		return nil, err
	}
	if j.stableVersion, err = first.FigureVersion(first.Stable); err != nil && (limits.MaxErrorIncrease != nil || limits.MaxP99Ratio > 0) {
		return nil, fmt.Errorf("stable: %w; the relative gates need it", err)
	}
	return j, nil
}

// judgeStep waits out the interval and judges the step, holding it while there are too few
// requests. nil when it passed; otherwise the rollback's error.
func (o *CanaryOptions) judgeStep(ctx context.Context, prom versionFigures, plan *canary.Plan, j *judging, index, weight int) error {
	window := fmt.Sprintf("%ds", int(o.Interval.Seconds()))
	step := fmt.Sprintf("step %d/%d", index+1, len(o.Steps))
	for holds := 0; ; holds++ {
		select {
		case <-ctx.Done():
			return o.interrupted(index)
		case <-time.After(o.Interval):
		}
		figures, err := prom.VersionFigures(ctx, figureScope(plan), window, time.Now())
		if err != nil {
			if ctx.Err() != nil {
				return o.interrupted(index)
			}
			return o.rollBack(fmt.Sprintf("no telemetry to judge %s by: %v", step, err))
		}
		c, s := figures[j.canaryVersion], figures[j.stableVersion]
		if s.Requests > 0 && s.Requests >= float64(j.limits.MinRequests) {
			j.lastStable, j.haveStable = s, true
		}
		stable := j.lastStable
		if !j.haveStable {
			stable = s
		}
		verdict, reason := canary.Judge(c, stable, j.haveStable, weight, j.limits)
		o.reportJudgement(j, c, s, weight, verdict, reason)
		switch {
		case verdict == canary.Pass:
			return nil
		case verdict == canary.Fail:
			return o.rollBack(fmt.Sprintf("canary %s failed at %s (%d%%): %s (%s)", j.canary, step, weight, reason, c))
		case holds >= o.MaxHolds:
			return o.rollBack(fmt.Sprintf("canary %s: %s after holding %s for %d more intervals (--max-holds %d)", j.canary, reason, step, holds, o.MaxHolds))
		}
		fmt.Fprintf(o.streams.Out, "  holding %s for another %s (%d of --max-holds %d)\n", step, o.Interval, holds+1, o.MaxHolds)
	}
}

// reportJudgement prints one judgement: the canary's figures and share of the requests beside
// its weight, stable's, the verdict; and a warning when the share is far from the weight.
func (o *CanaryOptions) reportJudgement(j *judging, c, s canary.Figures, weight int, verdict canary.Verdict, reason string) {
	share := canary.Share(c, s)
	shareText := "-"
	if share >= 0 {
		shareText = fmt.Sprintf("%.0f%%", share)
	}
	label := map[canary.Verdict]string{canary.Pass: "pass", canary.Fail: "FAIL: ", canary.Hold: "HOLD: "}[verdict]
	if verdict != canary.Pass {
		label += reason
	}
	fmt.Fprintf(o.streams.Out, "  %s over %s: %s, %.0f requests, %s of the requests at weight %d%%; stable %s: %s (limits: %s): %s\n",
		j.canary, o.Interval, c, c.Requests, shareText, weight, j.stable, s, describeLimits(j.limits), label)
	if canary.ShareOff(share, c.Requests+s.Requests, weight) {
		o.warn(fmt.Sprintf("%s received %s of the requests at weight %d%%: traffic is not following the route (a waypoint missing, another route matching first, or clients bypassing the mesh)", j.canary, shareText, weight))
	}
}

// describeLimits names the gates in force, as the flags set them.
func describeLimits(l canary.Limits) string {
	gates := []string{fmt.Sprintf("errors %g%%", l.MaxErrorRatePercent), "p99 " + p99Limit(l)}
	if l.MaxErrorIncrease != nil {
		gates = append(gates, fmt.Sprintf("errors +%g points over stable", *l.MaxErrorIncrease))
	}
	if l.MaxP99Ratio > 0 {
		gates = append(gates, fmt.Sprintf("p99 %gx stable", l.MaxP99Ratio))
	}
	return strings.Join(gates, ", ")
}

// printAutoPlan says what --auto would do, and the PromQL each judgement runs: nothing is
// written and Prometheus is not asked.
func (o *CanaryOptions) printAutoPlan(w io.Writer, first *canary.Plan, j *judging) error {
	fmt.Fprintf(w, "--auto plan%s for %s (namespace %s): stable %s, canary %s, on %s\n", o.dryRun.Suffix(), o.service, o.service.Namespace, j.stable, j.canary, first.RouteName())
	for i, step := range o.Steps {
		fmt.Fprintf(w, "  step %d/%d: %s %d%%, hold %s, then judge\n", i+1, len(o.Steps), j.canary, step, o.Interval)
	}
	fmt.Fprint(w, o.autoClustersNote())
	fmt.Fprintf(w, "  then promote %s; a failed gate, Ctrl-C or a step that cannot be written rolls back to %s\n", j.canary, j.stable)
	fmt.Fprintf(w, "gates, on each interval's requests: %s; at least %d canary requests (else hold, up to %d more intervals, then roll back)\n",
		describeLimits(j.limits), j.limits.MinRequests, o.MaxHolds)
	requests, durations := telemetry.VersionQueries(figureScope(first), fmt.Sprintf("%ds", int(o.Interval.Seconds())))
	fmt.Fprintf(w, "PromQL, by destination_version (canary %s, stable %s):\n  %s\n  %s\n", j.canaryVersion, j.stableVersion, requests, durations)
	return nil
}

func p99Limit(l canary.Limits) string {
	if l.MaxP99 == 0 {
		return "none"
	}
	return l.MaxP99.String()
}

// rollBack returns all traffic to stable after a failed step, with a context that Ctrl-C has
// not cancelled, and reports why.
func (o *CanaryOptions) rollBack(reason string, next ...string) error {
	plan, _, err := o.apply(context.Background(), canary.Request{Rollback: true})
	if err != nil {
		return fmt.Errorf("%s; rolling back failed too: %v\n%s", reason, err, o.rollbackHint())
	}
	fmt.Fprintln(o.streams.Out, o.stepSummary(plan))
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
