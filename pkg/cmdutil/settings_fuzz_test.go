package cmdutil

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// FuzzSettings: any settings file content either loads or is reported as an
// error, never panics; applying it never overrides a flag the user set on
// the command line, never sets a flag outside the allow-list (a guard such
// as allow-empty, a credential), never yields elb-token from the file, and a
// string flag that takes a value from the file gets exactly what GetString
// reads.
func FuzzSettings(f *testing.F) {
	f.Add([]byte("namespace: prod\nrequest-timeout: 30s\nconcurrency: 8\n"))
	f.Add([]byte("elb-endpoint: http://127.0.0.1:1\nelb-token: x\nlabels: [a, b]\n"))
	f.Add([]byte("labels: a,b\nallow-empty: yes\nconcurrency: 1e3\n"))
	f.Add([]byte("concurrency: {a: 1}\nnamespace: [1, {b: 2}]\n"))
	f.Add([]byte("? [a]\n: b\n1: 2\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("\t- bad"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := NewSettings()
		if err := s.Load(path); err != nil {
			return
		}
		if s.File() != path {
			t.Fatalf("File() = %q", s.File())
		}
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		ns := fs.String("namespace", "", "")
		fs.String("elb-endpoint", "", "")
		fs.Duration("request-timeout", time.Second, "")
		fs.Int("concurrency", 16, "")
		fs.Bool("allow-empty", false, "")
		fs.StringSlice("labels", nil, "")
		fs.Float64("ratio", 0, "")
		fs.Bool("prune-orphans", false, "")
		fs.String("token", "", "")
		if err := fs.Parse([]string{"--namespace=from-cli"}); err != nil {
			t.Fatal(err)
		}
		_ = s.ApplyToFlags(fs, io.Discard)
		for _, guard := range []string{"allow-empty", "prune-orphans", "token", "labels", "ratio"} {
			if f := fs.Lookup(guard); f.Value.String() != f.DefValue {
				t.Fatalf("settings file set --%s=%q, which is not an allowed setting", guard, f.Value.String())
			}
		}
		if *ns != "from-cli" {
			t.Fatalf("settings file overrode a command-line flag: namespace=%q", *ns)
		}
		if ep := fs.Lookup("elb-endpoint"); ep.Value.String() != "" && ep.Value.String() != s.GetString("elb-endpoint") {
			t.Fatalf("elb-endpoint flag %q, setting %q", ep.Value.String(), s.GetString("elb-endpoint"))
		}
		if tok := s.GetString("elb-token"); tok != "" {
			t.Fatalf("elb-token read from the settings file: %q", tok)
		}
	})
}
