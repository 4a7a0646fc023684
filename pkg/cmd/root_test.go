package cmd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestPluginArgs(t *testing.T) {
	tests := []struct {
		args, want []string
	}{
		{[]string{"reviews", "10"}, []string{"canary", "reviews", "10"}},
		{nil, []string{"canary"}},
		{[]string{"--help"}, []string{"canary", "--help"}},
		// Shell completion asks `kubectl-mesh_canary __complete reviews ""`.
		{[]string{"__complete", "rev"}, []string{"__complete", "canary", "rev"}},
		{[]string{"__completeNoDesc", ""}, []string{"__completeNoDesc", "canary", ""}},
	}
	for _, tt := range tests {
		if got := pluginArgs("canary", tt.args); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pluginArgs(canary, %q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestUsageErrorsPointAtHelp(t *testing.T) {
	_, stderr, code := run(nil, "canary", "--bogus")
	if code != 1 || stderr != "error: unknown flag: --bogus\nSee 'kubectl mesh canary --help' for usage.\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = run(nil, "frobnicate")
	if code != 1 || !strings.Contains(stderr, `unknown command "frobnicate" for "kubectl mesh"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestVersionOutput(t *testing.T) {
	stdout, _, code := run(nil, "version", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"goVersion": "go1.`) {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	_, stderr, code := run(nil, "version", "-o", "xml")
	if code != 1 || !strings.Contains(stderr, `unknown output format "xml"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestArgsForBinary(t *testing.T) {
	tests := []struct {
		binary string
		args   []string
		want   []string
	}{
		{"/usr/local/bin/kubectl-mesh", []string{"canary", "reviews"}, []string{"canary", "reviews"}},
		{"kubectl-mesh_canary", []string{"reviews", "10"}, []string{"canary", "reviews", "10"}},
		{"kubectl-mesh_graph.exe", []string{"-n", "default"}, []string{"graph", "-n", "default"}},
		{"kubectl_complete-mesh", []string{"canary", "rev"}, []string{"__complete", "canary", "rev"}},
		{"kubectl_complete-mesh_lockdown", []string{""}, []string{"__complete", "lockdown", ""}},
		{"kubectl-mesh_what_if", []string{"-f", "p.yaml"}, []string{"what-if", "-f", "p.yaml"}},
		{"renamed-binary", []string{"version"}, []string{"version"}},
	}
	for _, tt := range tests {
		if got := argsForBinary(tt.binary, tt.args); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("argsForBinary(%q, %q) = %q, want %q", tt.binary, tt.args, got, tt.want)
		}
	}
}

func TestNegativePercent(t *testing.T) {
	_, stderr, code := run(nil, "canary", "reviews", "-5")
	if code != 1 || stderr != "error: PERCENT -5 is out of range: give a whole number from 0 to 100\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A plugin binary's help and hints name it as the user called it.
func TestPluginUsageNamesThePlugin(t *testing.T) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	if code := ExecutePlugin("graph", streams, []string{"--help"}); code != 0 || !strings.Contains(out.String(), "Usage:\n  kubectl mesh-graph [flags]") {
		t.Errorf("kubectl mesh-graph --help: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := ExecuteAs("/usr/local/bin/kubectl-mesh_what_if", streams, []string{"--bogus"}); code != 1 || !strings.Contains(errOut.String(), "See 'kubectl mesh-what-if --help' for usage.") {
		t.Errorf("kubectl mesh-what-if --bogus: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := ExecuteAs("kubectl-mesh", streams, []string{"graph", "--help"}); code != 0 || !strings.Contains(out.String(), "Usage:\n  kubectl mesh graph [flags]") {
		t.Errorf("kubectl mesh graph --help: exit %d\n%s", code, out.String())
	}
}
