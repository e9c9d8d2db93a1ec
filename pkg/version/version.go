// Package version carries the build's version, set through -ldflags -X.
package version

import (
	"fmt"
	"runtime"
)

// Set at build time: -X github.com/openvessel/ccictl/pkg/version.gitVersion=v0.1.0 etc.
var (
	gitVersion   = "v0.0.0-dev"
	gitCommit    = ""
	gitTreeState = ""
	buildDate    = "1970-01-01T00:00:00Z"
)

// Info mirrors the shape of Kubernetes' version.Info so scripts that read
// `kubectl version -o json` read ours the same way.
type Info struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Compiler     string `json:"compiler"`
	Platform     string `json:"platform"`
}

// Get returns this binary's version.
func Get() Info {
	var major, minor string
	var patch int
	if n, _ := fmt.Sscanf(gitVersion, "v%s", &major); n == 1 {
		// "v1.2.3-x" → major "1", minor "2"
		var ma, mi int
		if c, _ := fmt.Sscanf(gitVersion, "v%d.%d.%d", &ma, &mi, &patch); c >= 2 {
			major, minor = fmt.Sprint(ma), fmt.Sprint(mi)
		} else {
			major, minor = "", ""
		}
	}
	return Info{
		Major: major, Minor: minor,
		GitVersion: gitVersion, GitCommit: gitCommit, GitTreeState: gitTreeState, BuildDate: buildDate,
		GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}
