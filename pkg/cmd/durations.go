package cmd

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/pflag"
)

// One duration syntax for every flag: Go's (1m30s, 1.5s, 500ms) and Prometheus's (1d, 1w),
// whether the flag holds a time (--interval, --max-p99) or a PromQL range (--window). Both
// report "duration" as their type, so that a bad value is said the same way (flagError).
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration")
	}
	return time.Duration(d), nil
}

// durationValue is a time.Duration flag that takes either syntax.
type durationValue struct{ d *time.Duration }

func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationValue{p}, name, usage)
}

func (v durationValue) String() string { return model.Duration(*v.d).String() }
func (v durationValue) Type() string   { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err == nil {
		*v.d = d
	}
	return err
}

// windowValue is a PromQL range flag (--window) that takes either syntax and holds it as
// Prometheus reads it: as given when Prometheus reads it already (24h stays 24h), else
// rewritten (1.5m becomes 1m30s), ready for a query.
type windowValue struct{ s *string }

func windowVar(fs *pflag.FlagSet, p *string, value, usage string) {
	*p = value
	fs.Var(windowValue{p}, "window", usage)
}

func (v windowValue) String() string { return *v.s }
func (v windowValue) Type() string   { return "duration" }
func (v windowValue) Set(s string) error {
	d, err := parseDuration(s)
	switch {
	case err != nil:
		return err
	case d <= 0:
		*v.s = s // Validate says what is wrong with it
	case isPromDuration(s):
		*v.s = s
	default:
		*v.s = model.Duration(d).String()
	}
	return nil
}

func isPromDuration(s string) bool {
	_, err := model.ParseDuration(s)
	return err == nil
}
