package create

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/internal/golden"
	"github.com/openvessel/ccictl/pkg/client"
	cmdvalidate "github.com/openvessel/ccictl/pkg/cmd/validate"
	"github.com/openvessel/ccictl/pkg/cmdutil"
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

// fakeServer is an API server with discovery for v1 Services, PoolBindings
// and optionally the cci/v2 group; it records every request and answers a
// create with the object it was sent.
type fakeServer struct {
	*httptest.Server
	cci bool

	mu       sync.Mutex
	requests []string // "METHOD path?query"
	bodies   []map[string]interface{}
}

func newFakeServer(t *testing.T, cci bool) *fakeServer {
	s := &fakeServer{cci: cci}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func resourceList(gv, name, kind string) map[string]interface{} {
	return map[string]interface{}{
		"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
		"resources": []interface{}{map[string]interface{}{
			"name": name, "singularName": strings.ToLower(kind), "namespaced": true, "kind": kind,
			"verbs": []string{"create", "get", "list", "delete"},
		}},
	}
}

func group(name, version string) map[string]interface{} {
	gv := map[string]interface{}{"groupVersion": name + "/" + version, "version": version}
	return map[string]interface{}{"name": name, "versions": []interface{}{gv}, "preferredVersion": gv}
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	req := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		req += "?" + r.URL.RawQuery
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	// Plain JSON, not aggregated discovery: client-go falls back to the
	// legacy per-group-version documents.
	w.Header().Set("Content-Type", "application/json")
	reply := func(code int, v interface{}) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	groups := []interface{}{group("loadbalancer.networking.openvessel.io", "v1")}
	if s.cci {
		groups = append(groups, group("cci", "v2"))
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api":
		reply(200, map[string]interface{}{"kind": "APIVersions", "versions": []string{"v1"}})
	case r.Method == http.MethodGet && r.URL.Path == "/apis":
		reply(200, map[string]interface{}{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1":
		reply(200, resourceList("v1", "services", "Service"))
	case r.Method == http.MethodGet && r.URL.Path == "/apis/loadbalancer.networking.openvessel.io/v1":
		reply(200, resourceList("loadbalancer.networking.openvessel.io/v1", "poolbindings", "PoolBinding"))
	case r.Method == http.MethodGet && r.URL.Path == "/apis/cci/v2" && s.cci:
		reply(200, resourceList("cci/v2", "services", "Service"))
	case r.Method == http.MethodPost:
		var obj map[string]interface{}
		if err := json.Unmarshal(body, &obj); err != nil {
			reply(400, map[string]interface{}{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": err.Error(), "code": 400})
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, obj)
		s.mu.Unlock()
		md := obj["metadata"].(map[string]interface{})
		md["uid"] = "0f0f0f0f-0000-4000-8000-000000000001"
		md["resourceVersion"] = "1"
		reply(201, obj)
	default:
		reply(404, map[string]interface{}{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
			"message": "the server could not find the requested resource"})
	}
}

func (s *fakeServer) posts() []string {
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

func (s *fakeServer) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// --dry-run=client prints the manifest without asking the server anything,
// not even discovery: the golden files are what users paste into git.
func TestGeneratorDryRunClientGolden(t *testing.T) {
	srv := newFakeServer(t, true)
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
			args := append([]string{"--server", srv.URL}, tc.args...)
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
	srv := newFakeServer(t, false)
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
				r := run(t, "", append([]string{"--server", srv.URL}, append(tc.args, "--dry-run="+dry)...)...)
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
		{[]string{"create", "service", "nodeport", "web"}, `unknown service type "nodeport"`},
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

// Without --dry-run=client the object goes to the server through discovery
// and the REST mapping; the Service's apiVersion follows what it serves.
func TestGeneratorSendsToServer(t *testing.T) {
	for _, tc := range []struct {
		name, wantPost, wantAPIVersion string
		cci                            bool
		extra                          []string
	}{
		{"plain kubernetes", "POST /api/v1/namespaces/test-ns/services?fieldManager=ccictl-create&fieldValidation=Strict", "v1", false, nil},
		{"CCI 2.0 serves cci/v2", "POST /apis/cci/v2/namespaces/test-ns/services?fieldManager=ccictl-create&fieldValidation=Strict", "cci/v2", true, nil},
		{"--api-version wins", "POST /api/v1/namespaces/test-ns/services?fieldManager=ccictl-create&fieldValidation=Strict", "v1", true, []string{"--api-version=v1"}},
		{"server dry run", "POST /api/v1/namespaces/test-ns/services?dryRun=All&fieldManager=ccictl-create&fieldValidation=Strict", "v1", false, []string{"--dry-run=server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, tc.cci)
			args := append([]string{"--server", srv.URL, "-n", "test-ns", "create", "service", "loadbalancer", "my-lbs", "--tcp=5678:8080"}, tc.extra...)
			r := mustRun(t, "", args...)
			// The name printer names the group, as kubectl does for any
			// group but the core one.
			want := "service/my-lbs created\n"
			if tc.wantAPIVersion == "cci/v2" {
				want = "service.cci/my-lbs created\n"
			}
			if strings.Contains(strings.Join(tc.extra, " "), "server") {
				want = "service/my-lbs created (server dry run)\n"
			}
			if r.out != want {
				t.Errorf("stdout = %q, want %q", r.out, want)
			}
			if p := srv.posts(); len(p) != 1 || p[0] != tc.wantPost {
				t.Errorf("posts = %v, want [%s]", p, tc.wantPost)
			}
			if got := srv.bodies[0]["apiVersion"]; got != tc.wantAPIVersion {
				t.Errorf("sent apiVersion %v, want %s", got, tc.wantAPIVersion)
			}
		})
	}

	srv := newFakeServer(t, false)
	r := mustRun(t, "", "--server", srv.URL, "-n", "test-ns", "create", "poolbinding", "test-c1", "--pool-id="+poolID, "--service=test-name", "--port=123", "-o", "yaml")
	if p := srv.posts(); len(p) != 1 || !strings.HasPrefix(p[0], "POST /apis/loadbalancer.networking.openvessel.io/v1/namespaces/test-ns/poolbindings?") {
		t.Errorf("posts = %v", p)
	}
	// The printed object is the server's answer.
	if !strings.Contains(r.out, "resourceVersion: \"1\"") || !strings.Contains(r.out, "id: "+poolID) {
		t.Errorf("-o yaml after create:\n%s", r.out)
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
	srv := newFakeServer(t, false)
	if r := mustRun(t, "", "--server", srv.URL, "create", "-f", f); r.out != "poolbinding.loadbalancer.networking.openvessel.io/b1 created\n" {
		t.Errorf("create -f of generator output: %s", r)
	}
}
