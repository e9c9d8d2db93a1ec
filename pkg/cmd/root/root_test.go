package root

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// run calls Main in this process, as main() does, and returns what it wrote.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errb})
	return out.String(), errb.String(), code
}

// A verb taken from kubectl that fails through kcmdutil.CheckErr returns to
// Main (the test process survives) with kubectl's message and exit code.
func TestKubectlFatalReturnsToMain(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, tc := range []struct {
		args     []string
		wantErr  string
		wantCode int
	}{
		// kubectl diff exits 1 + kubectl's code for errors (CheckDiffErr).
		{[]string{"diff"}, "error: must specify one of -f and -k\n", 2},
		{[]string{"patch", "--server", "https://127.0.0.1:1", "plb", "x"}, "error: must specify --patch or --patch-file containing the contents of the patch\n", 1},
		{[]string{"label", "--server", "https://127.0.0.1:1"}, "error: one or more resources must be specified as <resource> <name> or <resource>/<name>\n", 1},
	} {
		stdout, stderr, code := run(t, tc.args...)
		if stdout != "" || stderr != tc.wantErr || code != tc.wantCode {
			t.Errorf("ccictl %v: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.args, code, stdout, stderr, tc.wantCode, tc.wantErr)
		}
	}
}

// An executable ccictl-<name> on PATH runs as `ccictl <name>`, with the
// remaining arguments, ccictl's streams and its own exit code.
func TestPluginRunsWithItsExitCode(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"plugin args: $*\"\necho on-stderr >&2\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "ccictl-hello-world"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	stdout, stderr, code := run(t, "hello", "world", "a", "--flag=b")
	if stdout != "plugin args: a --flag=b\n" || stderr != "on-stderr\n" || code != 7 {
		t.Errorf("exit %d, stdout %q, stderr %q; want the plugin's output and exit 7", code, stdout, stderr)
	}
	// A built-in command wins over a plugin of the same name.
	if err := os.WriteFile(filepath.Join(dir, "ccictl-version"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if stdout, _, code := run(t, "version", "--client"); code != 0 || stdout == "plugin args: --client\n" {
		t.Errorf("ccictl version ran the plugin: exit %d, %q", code, stdout)
	}
}

// Neither a command nor a plugin: kubectl's message and exit code.
func TestUnknownCommandAsKubectl(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	stdout, stderr, code := run(t, "foo")
	// As kubectl 1.36 (cli.RunNoErrOutput, then cmdutil.CheckErr) prints it.
	want := "error: unknown command \"foo\" for \"ccictl\"\n\nDid you mean this?\n\ttop\n"
	if stdout != "" || stderr != want || code != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
	}
	_, stderr, code = run(t, "--cliconfig", "x", "foo")
	if want := "Error: flags cannot be placed before plugin name: --cliconfig\n"; stderr != want || code != 1 {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}

// A completion request after global flags is not taken for a plugin name.
func TestCompletionAfterFlagsIsNotAPlugin(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	stdout, stderr, code := run(t, "--cliconfig", "/nonexistent", "-n", "x", "__complete", "ver")
	if code != 0 || !strings.HasPrefix(stdout, "version\t") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the version command offered", code, stdout, stderr)
	}
}

// `ccictl --help` lists every command under kubectl's group headings, in
// kubectl's order, with ccictl's own commands in them.
func TestHelpGroupsAsKubectl(t *testing.T) {
	stdout, _, code := run(t, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	headings := []string{
		"Basic Commands (Beginner):", "Basic Commands (Intermediate):", "Deploy Commands:",
		"Cluster Management Commands:", "Troubleshooting and Debugging Commands:",
		"Advanced Commands:", "Settings Commands:", "Other Commands:",
	}
	at := -1
	for _, h := range headings {
		i := strings.Index(stdout, "\n"+h+"\n")
		if i <= at {
			t.Fatalf("heading %q missing or out of order in:\n%s", h, stdout)
		}
		at = i
	}
	if strings.Contains(stdout, "Additional Commands:") {
		t.Errorf("a command is outside every group:\n%s", stdout)
	}
	section := func(h string) string {
		s := stdout[strings.Index(stdout, "\n"+h+"\n"):]
		return s[:strings.Index(s[1:], "\n\n")+1]
	}
	for h, cmds := range map[string][]string{
		"Basic Commands (Beginner):":              {"create"},
		"Basic Commands (Intermediate):":          {"get", "delete", "edit", "explain"},
		"Deploy Commands:":                        {"sync", "rollout", "scale"},
		"Cluster Management Commands:":            {"cluster-info", "top"},
		"Troubleshooting and Debugging Commands:": {"describe", "logs", "exec", "port-forward", "cp", "auth", "events"},
		"Advanced Commands:":                      {"apply", "validate", "diff", "patch", "replace", "wait"},
		"Settings Commands:":                      {"label", "annotate", "completion"},
		"Other Commands:":                         {"api-resources", "api-versions", "config", "version"},
	} {
		for _, c := range cmds {
			if !strings.Contains(section(h), "\n  "+c+" ") {
				t.Errorf("%s is not under %q:\n%s", c, h, section(h))
			}
		}
	}
}
