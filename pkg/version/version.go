// Package version reports the build's version, stamped by the release build with
// -ldflags "-X github.com/kubectl-mesh/kubectl-mesh/pkg/version.version=v1.2.3 ...".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped at link time; empty in a plain `go build`.
var (
	version = ""
	commit  = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the stamped version, falling back to what `go install module@version` records
// in the binary's build info, and to "dev" for a local build.
func Get() Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

func (i Info) String() string {
	return fmt.Sprintf("kubectl-mesh %s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}
