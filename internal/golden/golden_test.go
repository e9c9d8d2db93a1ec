package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAssertMatches(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(p, []byte("a  \nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Assert(t, "a  \nb\n", p)
}

func TestAssertReportsDifference(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(p, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ft := &fakeT{TB: t}
	Assert(ft, "a \n", p)
	if !ft.failed || !strings.Contains(ft.msg, "+ a $") {
		t.Fatalf("want a failure showing the trailing space, got failed=%v %q", ft.failed, ft.msg)
	}
}

// fakeT records Errorf instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
	f.msg = strings.TrimSpace(sprintf(format, args...))
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
