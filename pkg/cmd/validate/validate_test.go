package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/internal/golden"
	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	rules "github.com/openvessel/ccictl/pkg/validate"
)

// corpus is the shared rule corpus, relative to this package.
const corpus = "../../../testdata/validate"

type result struct {
	out, errOut string
	code        int
	msg         string // what root.Main would print for the error
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s--- message\n%s", r.code, r.out, r.errOut, r.msg)
}

// run executes `ccictl validate ARGS` on a root wired like pkg/cmd/root's:
// the global connection flags and the settings sync of unset flags. The
// connection options name a config file that does not exist, so any use of
// the Factory's clients (even the namespace) would fail the command.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("CLICONFIG", "")
	t.Setenv("KUBECONFIG", "")
	return runRoot(t, stdin, args...)
}

// runRoot is run without isolating the environment (for tests that set
// CCICTL_* or a settings file themselves, after isolating).
func runRoot(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	conn := &client.ConnectionOptions{CLIConfig: filepath.Join(t.TempDir(), "no-such-config")}
	f := cmdutil.NewFactory(streams, conn)
	var settings string
	root := &cobra.Command{
		Use: "ccictl", SilenceErrors: true, SilenceUsage: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := f.Settings.Load(settings); err != nil {
				return err
			}
			return f.Settings.ApplyToFlags(c.Flags(), errOut)
		},
	}
	root.PersistentFlags().StringVar(&settings, "settings", "", "")
	root.PersistentFlags().StringVarP(&conn.Namespace, "namespace", "n", "", "")
	root.AddCommand(NewCmdValidate(f, streams))
	root.SetArgs(append([]string{"validate"}, args...))
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.Execute()
	msg, code := cmdutil.ErrorMessage(err)
	return result{out: out.String(), errOut: errOut.String(), code: code, msg: msg}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"valid corpus is clean", []string{"-f", corpus + "/valid"}, 0},
		{"errors exit 1", []string{"-f", corpus + "/invalid/poolbinding-fields.yaml"}, 1},
		// seed000's masked pool ID is PLB008, a warning: the API accepts it.
		{"masked pool ID only warns", []string{"-f", corpus + "/invalid/seed000-poolbinding-stripped.yaml"}, 0},
		{"masked pool ID with --strict exits 1", []string{"--strict", "-f", corpus + "/invalid/seed000-poolbinding-stripped.yaml"}, 1},
		// seed001's response carries server-populated metadata: SVC015 is a warning.
		{"warnings alone exit 0", []string{"-f", corpus + "/invalid/seed001-create-service-response.json"}, 0},
		{"warnings with --strict exit 1", []string{"--strict", "-f", corpus + "/invalid/seed001-create-service-response.json"}, 1},
		{"disabled rule no longer fails", []string{"--strict", "--disable-rule=plb008", "-f", corpus + "/invalid/seed000-poolbinding-stripped.yaml"}, 0},
		{"deprecated --disable still works", []string{"--strict", "--disable=plb008", "-f", corpus + "/invalid/seed000-poolbinding-stripped.yaml"}, 0},
		{"broken YAML exits 1", []string{"-f", corpus + "/invalid/seed002-direct-access-as-printed.yaml"}, 1},
		{"missing path", []string{"-f", "does-not-exist.yaml"}, 1},
		{"no -f", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("want exit %d: %s", tc.code, r)
			}
		})
	}
}

func TestWarningsOnlyReportsThem(t *testing.T) {
	r := run(t, "", "-f", corpus+"/invalid/seed001-create-service-response.json")
	if r.code != 0 || !strings.Contains(r.out, "warning SVC015") || r.msg != "" {
		t.Fatalf("want exit 0 with SVC015 warnings and no error: %s", r)
	}
	if !strings.HasSuffix(r.errOut, " warnings in 1 object\n") || !strings.HasPrefix(r.errOut, "0 errors, ") {
		t.Errorf("summary = %q", r.errOut)
	}
}

// The golden files pin the exact text and JSON over the whole corpus, so a
// format change shows up as a reviewable diff (go test -update).
func TestGoldenCorpus(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
		code   int
	}{
		{"corpus-invalid.txt", []string{"-f", corpus + "/invalid"}, 1},
		{"corpus-invalid.json", []string{"-f", corpus + "/invalid", "-o", "json"}, 1},
		{"corpus-valid.txt", []string{"-f", corpus + "/valid"}, 0},
		{"corpus-valid.json", []string{"-f", corpus + "/valid", "-o", "json"}, 0},
		// The files that name other platforms in their "# platforms:" line.
		{"blb.txt", []string{"--platform=serverless-blb,kubernetes", "-f", corpus + "/invalid/seed004-blb-services.yaml"}, 0},
		{"edge.json", []string{"--platform", "edge-nodepool", "--platform", "kubernetes", "-o", "json",
			"-f", corpus + "/invalid/edge-selector-and-class.yaml", "-f", corpus + "/invalid/seed003-shared-elb.yaml"}, 0},
		{"list-rules.txt", []string{"--list-rules"}, 0},
		{"list-rules-blb.txt", []string{"--list-rules", "--platform=serverless-blb", "--disable-rule=BLB003"}, 0},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("want exit %d: %s", tc.code, r)
			}
			got := r.out
			if !strings.HasSuffix(tc.golden, ".json") && !strings.HasPrefix(tc.golden, "list-rules") {
				got += "--- stderr\n" + r.errOut
			}
			golden.Assert(t, got, filepath.Join("testdata", tc.golden))
		})
	}
}

// The JSON form holds every finding of the text form, with the summary the
// exit code is decided from.
func TestJSONMatchesText(t *testing.T) {
	text := run(t, "", "-f", corpus+"/invalid")
	js := run(t, "", "-f", corpus+"/invalid", "-o", "json")
	var rep Report
	if err := json.Unmarshal([]byte(js.out), &rep); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, js.out)
	}
	lines := strings.Split(strings.TrimSuffix(text.out, "\n"), "\n")
	if len(lines) != len(rep.Findings) {
		t.Fatalf("%d text lines, %d JSON findings", len(lines), len(rep.Findings))
	}
	for i, fd := range rep.Findings {
		if fd.String() != lines[i] {
			t.Errorf("finding %d: JSON %q, text %q", i, fd.String(), lines[i])
		}
	}
	s := rep.Summary
	if !s.Failed || s.Errors == 0 || s.Warnings == 0 || s.Errors+s.Warnings != len(rep.Findings) {
		t.Errorf("summary %+v does not add up", s)
	}
	if text.errOut != s.String()+"\n" {
		t.Errorf("text summary %q, JSON summary says %q", text.errOut, s.String())
	}
	if js.errOut != "" {
		t.Errorf("-o json wrote to stderr: %q", js.errOut)
	}
}

func TestCleanJSONHasEmptyList(t *testing.T) {
	r := run(t, "", "-o", "json", "-f", corpus+"/valid/poolbinding-with-service.yaml")
	want := `{
  "findings": [],
  "summary": {
    "errors": 0,
    "warnings": 0,
    "objects": 2,
    "strict": false,
    "failed": false
  }
}
`
	if r.code != 0 || r.out != want {
		t.Fatalf("got %s\nwant stdout\n%s", r, want)
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile(corpus + "/invalid/seed000-poolbinding-stripped.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(data), "-f", "-", "--strict")
	if r.code != 1 {
		t.Fatalf("want exit 1: %s", r)
	}
	want := "<stdin>:8: warning PLB008 PoolBinding/test-ns/test-c1 spec.poolRef.id: "
	if !strings.HasPrefix(r.out, want) || strings.Count(r.out, "\n") != 1 {
		t.Errorf("stdout = %q, want one line starting %q", r.out, want)
	}
	if r.errOut != "0 errors, 1 warning in 1 object\n" {
		t.Errorf("summary = %q", r.errOut)
	}
}

func TestRecursive(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(corpus + "/invalid/seed000-poolbinding-stripped.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(corpus + "/valid/poolbinding-with-service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "good.yaml"), string(good))
	write(t, filepath.Join(sub, "bad.yaml"), string(bad))

	if r := run(t, "", "-f", dir); r.code != 0 || r.errOut != "0 errors, 0 warnings in 2 objects\n" {
		t.Errorf("without -R the subdirectory is skipped: %s", r)
	}
	r := run(t, "", "-f", dir, "-R", "--strict")
	if r.code != 1 || !strings.Contains(r.out, filepath.Join(sub, "bad.yaml")+":8: warning PLB008") {
		t.Errorf("with -R the subdirectory is checked: %s", r)
	}
}

func TestPlatform(t *testing.T) {
	blb := corpus + "/invalid/seed004-blb-services.yaml"
	// By default the BLB rules do not run: the same file is clean.
	if r := run(t, "", "-f", blb); r.code != 0 || strings.Contains(r.out, "BLB") {
		t.Errorf("default platforms ran BLB rules: %s", r)
	}
	r := run(t, "", "-f", blb, "--platform=serverless-blb")
	for _, id := range []string{"BLB001", "BLB002", "BLB003"} {
		if !strings.Contains(r.out, "warning "+id+" ") {
			t.Errorf("--platform=serverless-blb: no %s: %s", id, r)
		}
	}
	// CCI001 (cci/v2 instead of v1) runs only when cci is named.
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n"
	if r := run(t, svc, "-f", "-"); r.code != 0 {
		t.Errorf("v1 Service fails the default set: %s", r)
	}
	if r := run(t, svc, "-f", "-", "--platform=cci"); r.code != 1 || !strings.Contains(r.out, "<stdin>:1: error CCI001 Service/web apiVersion: ") {
		t.Errorf("--platform=cci accepted a v1 Service: %s", r)
	}
}

func TestDisable(t *testing.T) {
	f := corpus + "/invalid/cce-elb-annotations.yaml"
	all := run(t, "", "-f", f, "--strict")
	r := run(t, "", "-f", f, "--strict", "--disable-rule", "ELB005, elb001")
	if r.code != 1 || !strings.Contains(all.out, "ELB005") || !strings.Contains(all.out, "ELB001") {
		t.Fatalf("corpus file changed? %s", all)
	}
	if strings.Contains(r.out, "ELB005") || strings.Contains(r.out, "ELB001") || !strings.Contains(r.out, "ELB002") {
		t.Errorf("--disable did not skip exactly ELB005 and ELB001: %s", r)
	}
}

// The root copies CCICTL_<FLAG> and the settings file into unset flags, so
// rules are switched off from there without code in the command.
func TestDisableFromEnvironmentAndSettings(t *testing.T) {
	f := corpus + "/invalid/seed000-poolbinding-stripped.yaml"
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))

	for _, env := range []string{"CCICTL_DISABLE_RULE", "CCICTL_DISABLE"} { // the second is the deprecated name
		t.Setenv(env, "PLB008")
		if r := runRoot(t, "", "-f", f, "--strict"); r.code != 0 || r.out != "" {
			t.Errorf("%s=PLB008: %s", env, r)
		}
		// A flag on the command line wins over the environment.
		if r := runRoot(t, "", "-f", f, "--strict", "--disable-rule=SVC015"); r.code != 1 || !strings.Contains(r.out, "PLB008") {
			t.Errorf("--disable-rule did not replace %s: %s", env, r)
		}
		t.Setenv(env, "")
		os.Unsetenv(env)
	}

	settings := filepath.Join(home, "settings.yaml")
	for _, key := range []string{"disable-rule", "disable"} {
		write(t, settings, key+":\n- PLB008\nstrict: true\n")
		if r := runRoot(t, "", "--settings", settings, "-f", f); r.code != 0 || r.out != "" {
			t.Errorf("settings file %s: [PLB008]: %s", key, r)
		}
	}
	// strict: true from the settings file turns warnings into failure.
	if r := runRoot(t, "", "--settings", settings, "-f", corpus+"/invalid/seed001-create-service-response.json"); r.code != 1 {
		t.Errorf("settings file strict: true: %s", r)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", corpus + "/valid", "--disable=PLB999"}, `error: unknown rule "PLB999"`},
		{[]string{"-f", corpus + "/valid", "--disable=MAN001"}, "rule MAN001 cannot be disabled"},
		{[]string{"-f", corpus + "/valid", "--platform=cci2"}, `error: unknown platform "cci2" (known: cci, cce, kubernetes, serverless-blb, serverless-kube-proxy, edge-nodepool)`},
		{[]string{"-f", corpus + "/valid", "-o", "yaml"}, `error: unknown output format "yaml": must be text or json`},
		{[]string{corpus + "/valid"}, "unexpected args"},
		{nil, "must specify -f FILENAME"},
		{[]string{"-f", "nope.yaml"}, `error: the path "nope.yaml" does not exist`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != 1 || r.out != "" || !strings.Contains(r.msg, tc.want) {
				t.Errorf("want exit 1, no output and %q: %s", tc.want, r)
			}
		})
	}
	// Both problems at once are both reported, so one run fixes them all.
	r := run(t, "", "-f", corpus+"/valid", "--disable=X1,Y2")
	if !strings.Contains(r.msg, `unknown rule "X1"; unknown rule "Y2"`) || !strings.Contains(r.msg, "See 'ccictl validate -h'") {
		t.Errorf("two unknown rules: %s", r)
	}
}

// Every rule the engine knows is in the table, and the table says which
// run by default.
func TestListRulesCoversEveryRule(t *testing.T) {
	r := run(t, "", "--list-rules")
	for _, ri := range rules.Rules() {
		def := "no"
		if ri.Default {
			def = "yes"
		}
		found := false
		for _, l := range strings.Split(r.out, "\n") {
			f := strings.Fields(l)
			if len(f) > 4 && f[0] == ri.ID && f[1] == ri.Platform && f[2] == ri.Severity && f[3] == def {
				found = true
			}
		}
		if !found {
			t.Errorf("rule %s (%s, %s, default %s) missing from --list-rules", ri.ID, ri.Platform, ri.Severity, def)
		}
	}
	var list []rules.RuleInfo
	js := run(t, "", "--list-rules", "-o", "json")
	if err := json.Unmarshal([]byte(js.out), &list); err != nil || len(list) != len(rules.Rules()) {
		t.Errorf("--list-rules -o json: %d rules, err %v", len(list), err)
	}
}

func TestHelpNamesPlatformsAndDocs(t *testing.T) {
	r := run(t, "", "--help")
	for _, want := range []string{"docs/validate.md", "--list-rules", "Exit status"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, p := range rules.Platforms() {
		if !strings.Contains(r.out, p.Name) {
			t.Errorf("help lacks platform %s", p.Name)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
