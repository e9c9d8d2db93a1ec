// Package golden compares command output with files under testdata/. Run a
// package's tests with -update to rewrite its golden files from the current
// output, then review the diff.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is registered once here, so every test binary that imports this
// package accepts `go test ./pkg/... -update`.
var update = flag.Bool("update", false, "rewrite golden files with the current output")

// Assert fails t unless got equals the contents of path (byte for byte).
// With -update it writes got to path instead.
func Assert(t testing.TB, got, path string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n%s", path, Diff(string(want), got))
	}
}

// Diff is a line diff ("-" want, "+" got, "  " both) over the longest common
// subsequence of lines, with line ends shown so trailing spaces are visible.
func Diff(want, got string) string {
	w := strings.SplitAfter(want, "\n")
	g := strings.SplitAfter(got, "\n")
	// lcs[i][j] is the common length of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	line := func(prefix, s string) {
		if s != "" {
			b.WriteString(prefix + visible(s) + "\n")
		}
	}
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			line("  ", w[i])
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			line("+ ", g[j])
			j++
		default:
			line("- ", w[i])
			i++
		}
	}
	return b.String()
}

func visible(s string) string {
	if strings.HasSuffix(s, "\n") {
		return strings.TrimSuffix(s, "\n") + "$"
	}
	return s + "(no newline)"
}
