package create

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/internal/golden"
	"github.com/openvessel/ccictl/pkg/client"
	cmdvalidate "github.com/openvessel/ccictl/pkg/cmd/validate"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

const (
	poolID = "e08f4a6b-1c2d-4e5f-8a9b-0c1d2e3f29c1"
	elbID  = "5d3c1a52-8f1e-4c7b-9a0e-2b6f7c8d9e10"
)

type result struct {
	out, errOut string
	code        int
	msg         string // what root.Main prints for the error
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s--- message\n%s", r.code, r.out, r.errOut, r.msg)
}

// run executes `ccictl ARGS` on a root with the global connection flags,
// the create command (with its generators) and validate. HOME is empty and
// no config file is read unless args name one, so anything that would
// reach a server must come from --server.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("CLICONFIG", "")
	t.Setenv("KUBECONFIG", "")
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	conn := &client.ConnectionOptions{}
	f := cmdutil.NewFactory(streams, conn)
	root := &cobra.Command{Use: "ccictl", SilenceErrors: true, SilenceUsage: true}
	pf := root.PersistentFlags()
	pf.StringVar(&conn.CLIConfig, "cliconfig", "", "")
	pf.StringVarP(&conn.Namespace, "namespace", "n", "", "")
	pf.StringVarP(&conn.Server, "server", "s", "", "")
	root.AddCommand(NewCmdCreate(f, streams))
	root.AddCommand(cmdvalidate.NewCmdValidate(f, streams))
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	msg, code := cmdutil.ErrorMessage(root.Execute())
	return result{out: out.String(), errOut: errOut.String(), code: code, msg: msg}
}

func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("ccictl %v: %s", args, r)
	}
	return r
}

// recorder is a proxy in front of the package's real API server that
// records every request (and the body of each POST) and forwards it
// unchanged.
type recorder struct {
	url string

	mu       sync.Mutex
	requests []string // "METHOD path?query"
	bodies   []map[string]interface{}
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	proxy, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		req := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			req += "?" + r.URL.RawQuery
		}
		var obj map[string]interface{}
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			_ = json.Unmarshal(body, &obj)
		}
		rec.mu.Lock()
		rec.requests = append(rec.requests, req)
		if obj != nil {
			rec.bodies = append(rec.bodies, obj)
		}
		rec.mu.Unlock()
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	rec.url = proxy.URL
	return rec
}

func (s *recorder) posts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if strings.HasPrefix(r, "POST ") {
			out = append(out, r)
		}
	}
	return out
}

func (s *recorder) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// testNS creates namespace test-ns on the real server, once.
var testNS sync.Once

func ensureTestNS(t *testing.T) {
	t.Helper()
	testNS.Do(func() {
		mustRun(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test-ns\n", "--server", newRecorder(t).url, "create", "-f", "-")
	})
}

// --dry-run=client prints the manifest without asking the server anything,
// not even discovery: the golden files are what users paste into git.
func TestGeneratorDryRunClientGolden(t *testing.T) {
	srv := newRecorder(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"service-loadbalancer.yaml", []string{"create", "service", "loadbalancer", "my-lbs", "--tcp=5678:8080", "--elb-id=" + elbID}},
		{"service-loadbalancer-tcp-udp.yaml", []string{"create", "svc", "lb", "dns", "-n", "test-ns", "--tcp=53,8080:http", "--udp=53"}},
		{"service-loadbalancer-cci.json", []string{"create", "service", "loadbalancer", "web", "--tcp=80:8080", "--api-version=cci/v2", "-o", "json"}},
		{"poolbinding.yaml", []string{"create", "poolbinding", "test-c1", "-n", "test-ns", "--pool-id=" + poolID, "--service=test-name", "--port=123"}},
		{"poolbinding-deployment.json", []string{"create", "plb", "web-pods", "--pool-id=" + poolID, "--kind=Deployment", "--service=web", "--port=8080", "-o", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			args := append([]string{"--server", srv.url}, tc.args...)
			args = append(args, "--dry-run=client")
			if !strings.HasSuffix(tc.golden, ".json") {
				args = append(args, "-o", "yaml")
			}
			r := mustRun(t, "", args...)
			if r.errOut != "" {
				t.Errorf("stderr: %q", r.errOut)
			}
			golden.Assert(t, r.out, filepath.Join("testdata", tc.golden))
		})
	}
	if n := srv.requestCount(); n != 0 {
		t.Errorf("--dry-run=client sent %d requests: %v", n, srv.requests)
	}
}

// Printing a manifest works with no config file at all, and -o name says
// what would have been created.
func TestGeneratorDryRunClientNoConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing-config")
	r := mustRun(t, "", "--cliconfig", missing, "create", "service", "loadbalancer", "my-lbs", "--tcp=5678:8080", "--dry-run=client")
	if r.out != "service/my-lbs created (dry run)\n" {
		t.Errorf("stdout = %q", r.out)
	}
	r = mustRun(t, "", "--cliconfig", missing, "create", "poolbinding", "b1", "--pool-id="+poolID, "--service=web", "--port=80", "--dry-run=client", "-o", "name")
	if r.out != "poolbinding.loadbalancer.networking.openvessel.io/b1\n" {
		t.Errorf("stdout = %q", r.out)
	}
}

// Generator output fed to `ccictl validate` is clean, for every platform
// whose rules apply to it.
func TestGeneratorOutputValidates(t *testing.T) {
	for _, tc := range []struct {
		gen      []string
		platform string
	}{
		{[]string{"create", "service", "loadbalancer", "my-lbs", "--tcp=5678:8080", "--elb-id=" + elbID}, ""},
		{[]string{"create", "service", "loadbalancer", "dns", "-n", "test-ns", "--tcp=53,443:https", "--udp=53"}, "cce,kubernetes"},
		{[]string{"create", "service", "loadbalancer", "web", "--tcp=80:8080", "--api-version=cci/v2"}, "cci,cce,kubernetes"},
		{[]string{"create", "poolbinding", "test-c1", "-n", "test-ns", "--pool-id=" + poolID, "--service=test-name", "--port=123"}, "cci,kubernetes"},
		{[]string{"create", "poolbinding", "web-pods", "--pool-id=" + poolID, "--kind=Deployment", "--service=web", "--port=8080"}, ""},
	} {
		for _, format := range []string{"yaml", "json"} {
			t.Run(strings.Join(tc.gen[1:3], " ")+" "+format, func(t *testing.T) {
				gen := mustRun(t, "", append(tc.gen, "--dry-run=client", "-o", format)...)
				args := []string{"validate", "-f", "-", "--strict"}
				if tc.platform != "" {
					args = append(args, "--platform="+tc.platform)
				}
				r := run(t, gen.out, args...)
				if r.code != 0 || r.out != "" || r.errOut != "0 errors, 0 warnings in 1 object\n" {
					t.Errorf("validate of\n%s\n%s", gen.out, r)
				}
			})
		}
	}
}

// Bad values are refused with the same rule messages `validate` prints,
// naming the flag to fix, and nothing is printed or sent.
func TestGeneratorRefusesRuleBreakingFlags(t *testing.T) {
	srv := newRecorder(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"port 0", []string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=0"},
			[]string{"error PLB007 PoolBinding/b1 spec.targetRef.port: targetRef.port 0 is out of range 1-65535", "fix --port"}},
		{"bad kind", []string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=80", "--kind=Pod"},
			[]string{"error PLB003", "fix --kind"}},
		{"service port 0", []string{"create", "service", "loadbalancer", "web", "--tcp=0:8080"},
			[]string{"error SVC004 Service/web spec.ports[0].port: port 0 is out of range (0,65535]", "fix --tcp/--udp"}},
		{"service target out of range", []string{"create", "service", "loadbalancer", "web", "--udp=53:70000"},
			[]string{"error SVC005", "70000", "fix --tcp/--udp"}},
		{"bad service name", []string{"create", "service", "loadbalancer", "Web_1", "--tcp=80"},
			[]string{"error SVC001", "error K8S006", "fix NAME"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dry := range []string{"client", "none"} {
				r := run(t, "", append([]string{"--server", srv.url}, append(tc.args, "--dry-run="+dry)...)...)
				if r.code != 1 || r.out != "" {
					t.Fatalf("--dry-run=%s: want exit 1 and no output: %s", dry, r)
				}
				for _, w := range append(tc.want, "breaks platform rules and was not sent") {
					if !strings.Contains(r.msg, w) {
						t.Errorf("--dry-run=%s: message lacks %q: %s", dry, w, r)
					}
				}
			}
		})
	}
	if p := srv.posts(); len(p) != 0 {
		t.Errorf("refused objects were sent: %v", p)
	}
}

// Rules the platform documentation does not make server-side errors only
// warn: the object is printed (or sent) and the finding is on stderr.
func TestGeneratorWarnsOnAdvisoryRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"masked pool id", []string{"create", "poolbinding", "b1", "--pool-id=e08*****-****-****-****-********29c1", "--service=web", "--port=80"},
			[]string{"Warning: <generated>: warning PLB008 PoolBinding/b1 spec.poolRef.id: \"e08*****-****-****-****-********29c1\" is not a backend server group ID (UUID): it is masked"}},
		{"pool id not a uuid", []string{"create", "poolbinding", "b1", "--pool-id=pool-123", "--service=web", "--port=80"},
			[]string{"warning PLB008", "pool-123"}},
		{"group without version", []string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=80", "--group=cci"},
			[]string{"warning PLB004"}},
		{"masked elb id", []string{"create", "service", "loadbalancer", "web", "--tcp=80", "--elb-id=0b9*****-****-****-****-********f1a2"},
			[]string{"warning ELB001"}},
		{"tcp and udp on a BLB", []string{"create", "service", "loadbalancer", "dns", "--tcp=53", "--udp=53", "--platform=serverless-blb,kubernetes"},
			[]string{"warning BLB001 Service/dns spec.ports[1]: port 53 is exposed for both TCP and UDP", "warning BLB002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", append(tc.args, "--dry-run=client", "-o", "name")...)
			if r.code != 0 || r.out == "" {
				t.Fatalf("want exit 0 and the object: %s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, r)
				}
			}
			// --validate=strict still only refuses errors; warnings stay warnings.
			if strict := run(t, "", append(tc.args, "--dry-run=client", "-o", "name", "--validate=strict")...); strict.code != 0 {
				t.Errorf("--validate=strict refused a warning: %s", strict)
			}
		})
	}
}

func TestGeneratorUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "service", "loadbalancer", "web"}, "at least one port is required"},
		{[]string{"create", "service", "loadbalancer", "--tcp=80"}, "exactly one NAME is required, got 0"},
		{[]string{"create", "service", "loadbalancer", "a", "b", "--tcp=80"}, "exactly one NAME is required, got 2"},
		{[]string{"create", "service", "loadbalancer", "web", "--tcp=http:80"}, `--tcp "http:80": PORT must be a number`},
		{[]string{"create", "service", "loadbalancer", "web", "--udp=53:"}, `--udp "53:": TARGET is empty`},
		{[]string{"create", "service", "headless", "web"}, `unknown service type "headless" (supported: clusterip, externalname, loadbalancer, nodeport)`},
		{[]string{"create", "poolbinding", "b1"}, "required flag(s) not set: --pool-id, --service, --port"},
		// Rules run before the missing config is noticed: they need no server.
		{[]string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=0"}, "error PLB007 PoolBinding/b1 spec.targetRef.port"},
		{[]string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=x"}, `invalid argument "x" for "--port"`},
		{[]string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=80", "--disable-rule=NOPE1"}, `unknown rule "NOPE1"`},
		{[]string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=80", "--dry-run=maybe"}, `invalid dry-run value (maybe)`},
		{[]string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=80", "--validate=sometimes"}, "invalid --validate value"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			// No server is given: every one of these fails before any request.
			r := run(t, "", tc.args...)
			if r.code != 1 || r.out != "" || !strings.Contains(r.msg, tc.want) {
				t.Errorf("want exit 1, no output and %q: %s", tc.want, r)
			}
		})
	}
}

// --validate=warn sends what strict refuses, reporting the findings as
// warnings; --validate=ignore says nothing.
func TestGeneratorValidateModes(t *testing.T) {
	args := []string{"create", "poolbinding", "b1", "--pool-id=" + poolID, "--service=web", "--port=0", "--dry-run=client", "-o", "name"}
	r := mustRun(t, "", append(args, "--validate=warn")...)
	if r.out != "poolbinding.loadbalancer.networking.openvessel.io/b1\n" || !strings.HasPrefix(r.errOut, "Warning: <generated>: error PLB007 PoolBinding/b1 spec.targetRef.port: ") {
		t.Errorf("--validate=warn: %s", r)
	}
	r = mustRun(t, "", append(args, "--validate=ignore")...)
	if r.errOut != "" {
		t.Errorf("--validate=ignore printed %q", r.errOut)
	}
	// A disabled rule does not refuse the object.
	mustRun(t, "", append(args, "--disable-rule=plb007")...)
	// --disable, the deprecated alias, still works and says so.
	if r := mustRun(t, "", append(args, "--disable=plb007")...); !strings.Contains(r.errOut, "Flag --disable has been deprecated, use --disable-rule\n") {
		t.Errorf("--disable: %s", r)
	}
	// Warnings never refuse: targetRef.group apps/v1 is PLB005, a warning.
	r = mustRun(t, "", "create", "poolbinding", "b1", "--pool-id="+poolID, "--service=web", "--port=80", "--kind=Deployment", "--group=apps/v1", "--dry-run=client", "-o", "name")
	if !strings.Contains(r.errOut, "Warning: <generated>: warning PLB005 ") {
		t.Errorf("PLB005 warning missing: %s", r)
	}
}

// Without --dry-run=client the object goes to the real server through
// discovery and the REST mapping; the Service's apiVersion follows what it
// serves (the local server has no cci group: v1).
func TestGeneratorSendsToServer(t *testing.T) {
	ensureTestNS(t)
	for _, tc := range []struct {
		name, svc, wantPost, wantOut string
		extra                        []string
	}{
		{"plain kubernetes", "my-lbs", "POST /api/v1/namespaces/test-ns/services?fieldManager=ccictl-create&fieldValidation=Strict", "service/my-lbs created\n", nil},
		{"--api-version v1", "my-lbs-v1", "POST /api/v1/namespaces/test-ns/services?fieldManager=ccictl-create&fieldValidation=Strict", "service/my-lbs-v1 created\n", []string{"--api-version=v1"}},
		{"server dry run", "my-lbs-dry", "POST /api/v1/namespaces/test-ns/services?dryRun=All&fieldManager=ccictl-create&fieldValidation=Strict", "service/my-lbs-dry created (server dry run)\n", []string{"--dry-run=server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t)
			args := append([]string{"--server", srv.url, "-n", "test-ns", "create", "service", "loadbalancer", tc.svc, "--tcp=5678:8080"}, tc.extra...)
			r := mustRun(t, "", args...)
			if r.out != tc.wantOut {
				t.Errorf("stdout = %q, want %q", r.out, tc.wantOut)
			}
			if p := srv.posts(); len(p) != 1 || p[0] != tc.wantPost {
				t.Errorf("posts = %v, want [%s]", p, tc.wantPost)
			}
			if got := srv.bodies[0]["apiVersion"]; got != "v1" {
				t.Errorf("sent apiVersion %v, want v1", got)
			}
		})
	}
	// The server stored the created Service, not the dry run.
	srv := newRecorder(t)
	if r := run(t, "", "--server", srv.url, "-n", "test-ns", "create", "service", "loadbalancer", "my-lbs", "--tcp=5678:8080"); r.code != 1 || !strings.Contains(r.msg, `services "my-lbs" already exists`) {
		t.Errorf("second create of my-lbs: %s", r)
	}
	mustRun(t, "", "--server", srv.url, "-n", "test-ns", "create", "service", "loadbalancer", "my-lbs-dry", "--tcp=5678:8080")

	srv = newRecorder(t)
	r := mustRun(t, "", "--server", srv.url, "-n", "test-ns", "create", "poolbinding", "test-c1", "--pool-id="+poolID, "--service=test-name", "--port=123", "-o", "yaml")
	if p := srv.posts(); len(p) != 1 || !strings.HasPrefix(p[0], "POST /apis/loadbalancer.networking.openvessel.io/v1/namespaces/test-ns/poolbindings?") {
		t.Errorf("posts = %v", p)
	}
	// The printed object is the server's answer: what it set is there, and
	// was not in what was sent.
	sent := srv.bodies[0]["metadata"].(map[string]interface{})
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp"} {
		if _, ok := sent[f]; ok {
			t.Errorf("the generator sent metadata.%s: %v", f, sent)
		}
		if !strings.Contains(r.out, "\n  "+f+": ") {
			t.Errorf("-o yaml after create lacks the server's metadata.%s:\n%s", f, r.out)
		}
	}
	if !strings.Contains(r.out, "id: "+poolID) {
		t.Errorf("-o yaml after create:\n%s", r.out)
	}
}

// CCI 2.0 serves Services only as cci/v2 (reference 1.1). No local server
// serves a cci group (a CRD group needs a dot), so the choice is checked on
// the group list a server returns.
func TestServedServiceAPIVersion(t *testing.T) {
	gv := func(group, version string) metav1.GroupVersionForDiscovery {
		return metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + version, Version: version}
	}
	plb := metav1.APIGroup{Name: "loadbalancer.networking.openvessel.io", Versions: []metav1.GroupVersionForDiscovery{gv("loadbalancer.networking.openvessel.io", "v1")}}
	for _, tc := range []struct {
		name   string
		groups []metav1.APIGroup
		want   string
	}{
		{"no cci group", []metav1.APIGroup{plb}, "v1"},
		{"cci with v2", []metav1.APIGroup{plb, {Name: "cci", Versions: []metav1.GroupVersionForDiscovery{gv("cci", "v1"), gv("cci", "v2")}, PreferredVersion: gv("cci", "v1")}}, "cci/v2"},
		{"cci without v2", []metav1.APIGroup{{Name: "cci", Versions: []metav1.GroupVersionForDiscovery{gv("cci", "v3")}, PreferredVersion: gv("cci", "v3")}}, "cci/v3"},
		{"a group named like cci", []metav1.APIGroup{{Name: "cci.example.com", Versions: []metav1.GroupVersionForDiscovery{gv("cci.example.com", "v2")}}}, "v1"},
	} {
		if got := servedServiceAPIVersion(&metav1.APIGroupList{Groups: tc.groups}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCreateHelpListsGenerators(t *testing.T) {
	r := mustRun(t, "", "create", "--help")
	for _, want := range []string{"poolbinding", "service"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("create --help lacks %q:\n%s", want, r.out)
		}
	}
	// `create -f` still works next to the subcommands.
	f := filepath.Join(t.TempDir(), "plb.yaml")
	gen := mustRun(t, "", "create", "poolbinding", "b1", "--pool-id="+poolID, "--service=web", "--port=80", "--dry-run=client", "-o", "yaml")
	if err := os.WriteFile(f, []byte(gen.out), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newRecorder(t)
	if r := mustRun(t, "", "--server", srv.url, "create", "-f", f); r.out != "poolbinding.loadbalancer.networking.openvessel.io/b1 created\n" {
		t.Errorf("create -f of generator output: %s", r)
	}
}

// After a binding is created, stderr says which readiness gate its
// Service's pods declare (the exact condition type the controller sets,
// shortened for a long name); stdout is only what -o asked for, and dry
// runs and Deployment targets print no hint.
func TestPoolBindingPrintsGateHint(t *testing.T) {
	ensureTestNS(t)
	srv := newRecorder(t)
	long := strings.Repeat("long-binding-name-", 5) + "x"
	for _, tc := range []struct {
		name, out, gate string
		extra           []string
	}{
		{"gated", "poolbinding.loadbalancer.networking.openvessel.io/gated\n", "loadbalancer.networking.openvessel.io/pool.gated", []string{"-o", "name"}},
		{long, "poolbinding.loadbalancer.networking.openvessel.io/" + long + " created\n", string(readinessgate.ConditionType(long)), nil},
	} {
		r := mustRun(t, "", append([]string{"--server", srv.url, "-n", "test-ns", "create", "poolbinding", tc.name, "--pool-id=" + poolID, "--service=web", "--port=80"}, tc.extra...)...)
		if r.out != tc.out {
			t.Errorf("stdout = %q, want %q", r.out, tc.out)
		}
		want := "Hint: for rolling updates to wait until pool " + poolID + " reports a new pod's member ONLINE ('ccictl sync --watch' sets the gate), add to the pod template (spec.template.spec) of the workload behind Service web:\n" +
			"  readinessGates:\n  - conditionType: " + tc.gate + "\n"
		if r.errOut != want {
			t.Errorf("stderr = %q, want %q", r.errOut, want)
		}
	}
	if g := string(readinessgate.ConditionType(long)); strings.Contains(g, long) || len(g) > len("loadbalancer.networking.openvessel.io/")+63 {
		t.Errorf("long name's gate %q is not shortened to a valid condition type", g)
	}
	for _, extra := range [][]string{{"--dry-run=server"}, {"--dry-run=client"}, {"--kind=Deployment", "--group=cci/v2"}} {
		r := mustRun(t, "", append([]string{"--server", srv.url, "-n", "test-ns", "create", "poolbinding", "nohint", "--pool-id=" + poolID, "--service=web", "--port=80"}, extra...)...)
		if r.errOut != "" {
			t.Errorf("%v printed %q", extra, r.errOut)
		}
	}
}
