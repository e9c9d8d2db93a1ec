package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/openvessel/ccictl/internal/golden"
)

func TestSetCommandsCreateDefaultFileWithPrivateModes(t *testing.T) {
	home := isolate(t)
	r := mustRun(t, "config", "set-cluster", "cci", "--server=https://cci.ap-southeast-1.myhuaweicloud.com")
	if r.out != "Cluster \"cci\" set.\n" {
		t.Fatalf("out = %q", r.out)
	}
	path := filepath.Join(home, ".kubev2", "config")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
}

func TestSetRoundTrip(t *testing.T) {
	home := isolate(t)
	cfgPath := filepath.Join(home, ".kubev2", "config")
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"set-cluster", "cci", "--server=https://a", "--insecure-skip-tls-verify"}, "Cluster \"cci\" set.\n"},
		// A CA clears insecure mode.
		{[]string{"set-cluster", "cci", "--certificate-authority=testdata/ca.crt", "--embed-certs"}, "Cluster \"cci\" set.\n"},
		{[]string{"set-credentials", "iam-user", "--auth-provider=iam", "--auth-provider-arg=ak=AK", "--auth-provider-arg=sk=SK", "--auth-provider-arg=cache=true"}, "User \"iam-user\" set.\n"},
		{[]string{"set-credentials", "iam-user", "--auth-provider-arg=cache-", "--auth-provider-arg=project-name=ap-southeast-1"}, "User \"iam-user\" set.\n"},
		{[]string{"set-credentials", "tok", "--username=u", "--password=p"}, "User \"tok\" set.\n"},
		// A token replaces basic auth.
		{[]string{"set-credentials", "tok", "--token=T"}, "User \"tok\" set.\n"},
		{[]string{"set-credentials", "ex", "--exec-command=/bin/cred", "--exec-api-version=client.authentication.k8s.io/v1", "--exec-arg=a1,a2", "--exec-env=A=1", "--exec-env=B=2"}, "User \"ex\" set.\n"},
		{[]string{"set-credentials", "ex", "--exec-env=A-", "--exec-env=B=3"}, "User \"ex\" set.\n"},
		{[]string{"set-context", "c1", "--cluster=cci", "--user=iam-user", "--namespace=test-ns"}, "Context \"c1\" created.\n"},
		{[]string{"set-context", "c1", "--user=tok"}, "Context \"c1\" modified.\n"},
		{[]string{"use-context", "c1"}, "Switched to context \"c1\".\n"},
		{[]string{"set-context", "--current", "--namespace=other"}, "Context \"c1\" modified.\n"},
	}
	for _, s := range steps {
		r := mustRun(t, append([]string{"config"}, s.args...)...)
		if r.out != s.out {
			t.Fatalf("%v: out %q, want %q", s.args, r.out, s.out)
		}
	}
	cfg, err := clientcmd.LoadFromFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clusters["cci"]
	if c.Server != "https://a" || string(c.CertificateAuthorityData) != "CADATA" || c.InsecureSkipTLSVerify {
		t.Errorf("cluster = %+v", c)
	}
	ap := cfg.AuthInfos["iam-user"].AuthProvider
	if ap == nil || ap.Name != "iam" || len(ap.Config) != 3 || ap.Config["sk"] != "SK" || ap.Config["project-name"] != "ap-southeast-1" || ap.Config["cache"] != "" {
		t.Errorf("auth provider = %+v", ap)
	}
	if u := cfg.AuthInfos["tok"]; u.Token != "T" || u.Username != "" || u.Password != "" {
		t.Errorf("tok = %+v", u)
	}
	ex := cfg.AuthInfos["ex"].Exec
	if ex.Command != "/bin/cred" || strings.Join(ex.Args, " ") != "a1 a2" || len(ex.Env) != 1 || ex.Env[0].Name != "B" || ex.Env[0].Value != "3" {
		t.Errorf("exec = %+v", ex)
	}
	ctx := cfg.Contexts["c1"]
	if cfg.CurrentContext != "c1" || ctx.Cluster != "cci" || ctx.AuthInfo != "tok" || ctx.Namespace != "other" {
		t.Errorf("context = %+v current %q", ctx, cfg.CurrentContext)
	}

	// Delete everything again.
	for _, d := range [][]string{{"delete-context", "c1"}, {"delete-cluster", "cci"}, {"delete-user", "ex"}} {
		r := mustRun(t, append([]string{"config"}, d...)...)
		kind := strings.TrimPrefix(d[0], "delete-")
		if want := "deleted " + kind + " " + d[1] + " from " + cfgPath + "\n"; r.out != want {
			t.Errorf("%v: out %q, want %q", d, r.out, want)
		}
		if d[0] == "delete-context" && !strings.Contains(r.errOut, "warning: this removed your active context") {
			t.Errorf("no warning for deleting the current context: %q", r.errOut)
		}
	}
	r := run(t, "config", "delete-user", "nobody")
	if r.err == nil || r.msg() != "error: cannot delete user nobody, not in "+cfgPath {
		t.Errorf("delete missing user: %q", r.msg())
	}
}

func TestSetFlagsIgnoreSettingsEnvironment(t *testing.T) {
	// Values pushed into flags by CCICTL_* settings are not command-line
	// input: set-* must only apply flags the user typed.
	isolate(t)
	mustRun(t, "config", "set-cluster", "c", "--server=https://typed")
	r := run(t, "config", "set-cluster", "c", "--tls-server-name=x")
	if r.err != nil {
		t.Fatal(r.err)
	}
	out := mustRun(t, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}").out
	if out != "https://typed" {
		t.Errorf("server = %q", out)
	}
}

func TestValidationErrors(t *testing.T) {
	isolate(t)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"set-credentials", "u", "--token=t", "--username=a"}, "error: you cannot specify more than one authentication method at the same time: --token, --username/--password"},
		{[]string{"set-credentials", "u", "--embed-certs"}, "error: you must specify a --client-certificate or --client-key to embed"},
		{[]string{"set-credentials", "u", "--auth-provider=iam", "--auth-provider-arg=noequals"}, "error: invalid auth-provider-arg: [noequals]"},
		{[]string{"set-cluster", "c", "--insecure-skip-tls-verify", "--certificate-authority=testdata/ca.crt"}, "error: you cannot specify a certificate authority and insecure mode at the same time"},
		{[]string{"set-cluster", "c", "--embed-certs"}, "error: you must specify a --certificate-authority to embed"},
		{[]string{"set-context"}, "error: you must specify a non-empty context name or --current"},
		{[]string{"set-context", "a", "--current"}, "error: you cannot specify both a context name and --current"},
		{[]string{"set-context", "--current"}, "error: no current context is set"},
		{[]string{"use-context", "nope"}, `error: no context exists with the name: "nope"`},
		{[]string{"current-context"}, "error: current-context is not set"},
		{[]string{"use-context"}, "error: Unexpected args: []\nSee 'ccictl config use-context -h' for help and examples"},
		{[]string{"get-contexts", "-o", "yaml"}, "error: --output yaml is not available in ccictl config get-contexts; resetting to default output format"},
	}
	for _, c := range cases {
		r := run(t, append([]string{"config"}, c.args...)...)
		if r.err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if r.msg() != c.msg {
			t.Errorf("%v:\n got %q\nwant %q", c.args, r.msg(), c.msg)
		}
	}
}

// writeSample writes a config with two contexts, the current one with no
// namespace and one context naming nothing, through ccictl itself.
func writeSample(t *testing.T) {
	t.Helper()
	for _, a := range [][]string{
		{"set-cluster", "cci", "--server=https://cci.ap-southeast-1.myhuaweicloud.com"},
		{"set-cluster", "local", "--server=https://127.0.0.1:6443", "--certificate-authority=testdata/ca.crt", "--embed-certs"},
		{"set-credentials", "iam-user", "--auth-provider=iam", "--auth-provider-arg=iam-endpoint=https://iam.example", "--auth-provider-arg=sk=SECRETSK", "--auth-provider-arg=ak=AKID"},
		{"set-credentials", "admin", "--token=TOKEN"},
		{"set-context", "cci", "--cluster=cci", "--user=iam-user", "--namespace=test-ns"},
		{"set-context", "local", "--cluster=local", "--user=admin"},
		{"set-context", "a-very-long-context-name"},
		{"use-context", "local"},
	} {
		mustRun(t, append([]string{"config"}, a...)...)
	}
}

func TestGetContextsGolden(t *testing.T) {
	isolate(t)
	writeSample(t)
	golden.Assert(t, mustRun(t, "config", "get-contexts").out, "testdata/get-contexts.golden")
	golden.Assert(t, mustRun(t, "config", "get-contexts", "--no-headers").out, "testdata/get-contexts-no-headers.golden")
	golden.Assert(t, mustRun(t, "config", "get-contexts", "-o", "name").out, "testdata/get-contexts-name.golden")
	golden.Assert(t, mustRun(t, "config", "get-clusters").out, "testdata/get-clusters.golden")

	r := run(t, "config", "get-contexts", "cci", "nope")
	if r.msg() != "error: context nope not found" {
		t.Errorf("msg %q", r.msg())
	}
	golden.Assert(t, r.out, "testdata/get-contexts-one.golden")
	if got := mustRun(t, "config", "current-context").out; got != "local\n" {
		t.Errorf("current-context = %q", got)
	}
}

func TestViewRedactsSecrets(t *testing.T) {
	isolate(t)
	writeSample(t)
	out := mustRun(t, "config", "view").out
	for _, secret := range []string{"SECRETSK", "TOKEN", "Q0FEQVRB"} {
		if strings.Contains(out, secret) {
			t.Errorf("view shows %s:\n%s", secret, out)
		}
	}
	for _, want := range []string{"sk: REDACTED", "token: REDACTED", "certificate-authority-data: DATA+OMITTED", "ak: AKID"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	raw := mustRun(t, "config", "view", "--raw").out
	for _, want := range []string{"sk: SECRETSK", "token: TOKEN", "certificate-authority-data: Q0FEQVRB"} {
		if !strings.Contains(raw, want) {
			t.Errorf("view --raw lacks %q", want)
		}
	}
	golden.Assert(t, mustRun(t, "config", "view", "--minify").out, "testdata/view-minify.golden")
	golden.Assert(t, mustRun(t, "config", "view", "--minify", "--context=cci", "-o", "json").out, "testdata/view-minify-cci.json.golden")
}

func TestCLIConfigWinsOverKubeconfig(t *testing.T) {
	home := isolate(t)
	other := filepath.Join(home, "other")
	t.Setenv("KUBECONFIG", filepath.Join(home, "kube"))
	mustRun(t, "--cliconfig", other, "config", "set-cluster", "x", "--server=https://x")
	if !strings.Contains(readFile(t, other), "https://x") {
		t.Fatal("--cliconfig file not written")
	}
	if _, err := os.Stat(filepath.Join(home, "kube")); err == nil {
		t.Fatal("KUBECONFIG file written although --cliconfig was given")
	}
	t.Setenv("CLICONFIG", other)
	if out := mustRun(t, "config", "get-clusters").out; out != "NAME\nx\n" {
		t.Fatalf("get-clusters with CLICONFIG = %q", out)
	}
}
