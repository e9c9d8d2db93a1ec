package main_test

// The commands beyond the seed scenario, end to end against the real API
// server: watch, discovery commands, version, completion, config, describe,
// delete by selector, multi-type and all-namespace gets, request timeouts and
// the settings precedence.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// createPLBs creates PoolBindings (testdata's, renamed) in ns, with labels.
func createPLBs(t *testing.T, ns string, labels map[string]string, names ...string) {
	t.Helper()
	for _, n := range names {
		m := plbManifest(t, ns, n)
		if len(labels) > 0 {
			var b strings.Builder
			b.WriteString("  labels:\n")
			keys := make([]string, 0, len(labels))
			for k := range labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b.WriteString("    " + k + ": " + labels[k] + "\n")
			}
			m = strings.Replace(m, "  namespace: "+ns+"\n", "  namespace: "+ns+"\n"+b.String(), 1)
		}
		mustSucceed(t, ccictl(t, "create", "-f", writeFile(t, n+".yaml", m)))
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// rowNames are the first fields of a table's rows (header excluded).
func rowNames(table string) []string {
	var names []string
	for i, l := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		if f := strings.Fields(l); i > 0 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// TestCommandsWatch: `get -w` lists what exists, then prints a row for a
// binding created while it runs, under one header, until killed.
func TestCommandsWatch(t *testing.T) {
	ns := newNamespace(t, "e2e-watch")
	createPLBs(t, ns, nil, "before")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ccictlBin, "--cliconfig", cliconfig, "get", "plb", "-n", ns, "-w")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	// The initial listing: the header and the existing binding.
	if !waitFor(10*time.Second, func() bool { return strings.Contains(out.String(), "\nbefore ") }) {
		t.Fatalf("the watch did not list the existing binding:\n--- stdout\n%s--- stderr\n%s", out.String(), errb.String())
	}
	createPLBs(t, ns, nil, "after")
	if !waitFor(5*time.Second, func() bool { return strings.Contains(out.String(), "\nafter ") }) {
		t.Fatalf("the new binding did not appear within 5s:\n--- stdout\n%s--- stderr\n%s", out.String(), errb.String())
	}
	select {
	case err := <-exited:
		t.Fatalf("the watch ended on its own (%v) instead of running until killed", err)
	default:
	}

	got := out.String()
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if h := strings.Join(strings.Fields(lines[0]), " "); h != "NAME POOL TARGET PORT MEMBERS HEALTHY SYNCED AGE" {
		t.Errorf("first line is not the printer-column header: %q", lines[0])
	}
	if n := strings.Count(got, "NAME "); n != 1 {
		t.Errorf("header printed %d times:\n%s", n, got)
	}
	// Every row lines up under the header (the AGE column starts at the same offset).
	age := strings.Index(lines[0], "AGE")
	for _, l := range lines[1:] {
		if len(l) <= age || l[age-1] != ' ' || l[age] == ' ' {
			t.Errorf("row not aligned under the header:\n%s", got)
			break
		}
	}
	if errb.String() != "" {
		t.Errorf("watch wrote to stderr: %s", errb.String())
	}
}

// TestCommandsDiscovery: api-resources and api-versions equal kubectl's.
func TestCommandsDiscovery(t *testing.T) {
	group := "--api-group=loadbalancer.networking.openvessel.io"
	r := mustSucceed(t, ccictl(t, "api-resources", group))
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "poolbindings plb loadbalancer.networking.openvessel.io/v1 true PoolBinding" {
		t.Errorf("api-resources %s:\n%s", group, r.Stdout)
	}
	for _, args := range [][]string{
		{"api-resources", group},
		{"api-resources"},
		{"api-resources", "-o", "name"},
		{"api-resources", "--namespaced=false"},
		{"api-resources", "-o", "wide"},
		{"api-resources", "--no-headers", "--sort-by=kind"},
		{"api-resources", "--sort-by=name", "--namespaced=true"},
		{"api-resources", "--verbs=patch"},
		{"api-resources", "--verbs=list,watch", "-o", "name"},
		{"api-resources", "--api-group="},
		{"api-versions"},
	} {
		ours := mustSucceed(t, ccictl(t, args...))
		theirs := mustSucceed(t, kubectl(t, args...))
		if ours.Stdout != theirs.Stdout {
			t.Errorf("ccictl %v differs from kubectl:\n--- ccictl\n%s--- kubectl\n%s", args, ours.Stdout, theirs.Stdout)
		}
	}
	r = mustSucceed(t, ccictl(t, "api-versions"))
	for _, want := range []string{"\nloadbalancer.networking.openvessel.io/v1\n", "\nv1\n"} {
		if !strings.Contains("\n"+r.Stdout, want) {
			t.Errorf("api-versions lacks %q:\n%s", strings.TrimSpace(want), r.Stdout)
		}
	}
}

// TestCommandsVersion: -o json carries the client's version and the server's,
// the latter exactly what the server's /version reports.
func TestCommandsVersion(t *testing.T) {
	var v struct {
		ClientVersion map[string]string `json:"clientVersion"`
		ServerVersion map[string]string `json:"serverVersion"`
	}
	r := mustSucceed(t, ccictl(t, "version", "-o", "json"))
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r.Stdout)
	}
	if v.ClientVersion["gitVersion"] == "" || v.ClientVersion["goVersion"] == "" || v.ClientVersion["platform"] == "" {
		t.Errorf("clientVersion incomplete: %v", v.ClientVersion)
	}
	var server map[string]string
	raw := mustSucceed(t, kubectl(t, "get", "--raw", "/version"))
	if err := json.Unmarshal([]byte(raw.Stdout), &server); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.ServerVersion, server) {
		t.Errorf("serverVersion = %v, the server's /version = %v", v.ServerVersion, server)
	}
	// The local control plane is Kubernetes 1.36 (k8s.io/kubernetes v1.36.3).
	if v.ServerVersion["major"] != "1" || v.ServerVersion["minor"] != "36" {
		t.Errorf("serverVersion %s.%s, want 1.36", v.ServerVersion["major"], v.ServerVersion["minor"])
	}

	// The text form names both versions, one line each, as kubectl 1.36.
	r = mustSucceed(t, ccictl(t, "version"))
	if want := "Client Version: " + v.ClientVersion["gitVersion"] + "\nServer Version: " + server["gitVersion"] + "\n"; r.Stdout != want {
		t.Errorf("version printed %q, want %q", r.Stdout, want)
	}
	// -o json is indented like kubectl's; -o yaml carries the same fields.
	if js := mustSucceed(t, ccictl(t, "version", "-o", "json")).Stdout; !strings.HasPrefix(js, "{\n  \"clientVersion\": {\n") {
		t.Errorf("version -o json not indented like kubectl's:\n%s", js)
	}
	var y struct {
		ClientVersion map[string]string `json:"clientVersion"`
		ServerVersion map[string]string `json:"serverVersion"`
	}
	r = mustSucceed(t, ccictl(t, "version", "-o", "yaml"))
	if err := yaml.Unmarshal([]byte(r.Stdout), &y); err != nil || !reflect.DeepEqual(y.ClientVersion, v.ClientVersion) || !reflect.DeepEqual(y.ServerVersion, server) {
		t.Errorf("version -o yaml (err %v): %s", err, r.Stdout)
	}

	// --client needs no server: it works with nothing configured.
	r = mustSucceed(t, runIn(t, "", []string{"HOME="}, ccictlBin, "version", "--client", "-o", "json"))
	var c map[string]map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil || c["serverVersion"] != nil ||
		!reflect.DeepEqual(c["clientVersion"], v.ClientVersion) {
		t.Errorf("version --client: %v (err %v)", c, err)
	}
}

// TestCommandsCompletion: the generated scripts, and dynamic completion of
// resource types and of binding names from the server.
func TestCommandsCompletion(t *testing.T) {
	r := mustSucceed(t, ccictl(t, "completion", "bash"))
	if !strings.HasPrefix(r.Stdout, "# bash completion V2 for ccictl") || !strings.Contains(r.Stdout, "__start_ccictl") {
		t.Errorf("completion bash is not ccictl's bash script:\n%.300s", r.Stdout)
	}
	// bash itself accepts the script.
	check := exec.Command("bash", "-n")
	check.Stdin = strings.NewReader(r.Stdout)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("bash -n rejects the completion script: %v\n%s", err, out)
	}
	for _, shell := range []string{"zsh", "fish", "powershell"} {
		r := mustSucceed(t, ccictl(t, "completion", shell))
		if !strings.Contains(r.Stdout, "ccictl") || !strings.Contains(r.Stdout, "__complete") {
			t.Errorf("completion %s does not call back into ccictl __complete:\n%.300s", shell, r.Stdout)
		}
	}

	ns := newNamespace(t, "e2e-completion")
	createPLBs(t, ns, nil, "alpha", "beta")
	complete := func(args ...string) []string {
		t.Helper()
		r := mustSucceed(t, ccictl(t, append([]string{"__complete"}, args...)...))
		lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
		if last := lines[len(lines)-1]; last != ":4" { // ShellCompDirectiveNoFileComp
			t.Errorf("__complete %v: directive %q, want :4", args, last)
		}
		return lines[:len(lines)-1]
	}
	if got := complete("get", "plb", "-n", ns, ""); !reflect.DeepEqual(got, []string{"alpha", "beta"}) {
		t.Errorf("names of bindings in %s = %v", ns, got)
	}
	if got := complete("get", "plb", "-n", ns, "b"); !reflect.DeepEqual(got, []string{"beta"}) {
		t.Errorf("names with prefix b = %v", got)
	}
	// A name already given is not offered again.
	if got := complete("delete", "plb", "-n", ns, "alpha", ""); !reflect.DeepEqual(got, []string{"beta"}) {
		t.Errorf("names after alpha = %v", got)
	}
	if got := complete("get", "pl"); !contains(got, "plb") {
		t.Errorf("types with prefix pl = %v, want plb among them", got)
	}
	if got := complete("get", "po"); !contains(got, "poolbindings") || !contains(got, "pods") {
		t.Errorf("types with prefix po = %v, want poolbindings and pods", got)
	}
	if got := complete("get", "plb", "-n", "e2e-compl"); !reflect.DeepEqual(got, []string{ns}) {
		t.Errorf("-n completion = %v", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestCommandsConfig: building a cliconfig from nothing with the config
// subcommands, then using it.
func TestCommandsConfig(t *testing.T) {
	ns := newNamespace(t, "e2e-config")
	createPLBs(t, ns, nil, "in-config-ns")
	cfg := filepath.Join(t.TempDir(), "cliconfig")
	run := func(args ...string) result {
		return runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cfg}, args...)...)
	}
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"config", "set-cluster", "local", "--server", cluster.Server, "--certificate-authority", cluster.CAFile, "--embed-certs"}, "Cluster \"local\" set.\n"},
		{[]string{"config", "set-credentials", "admin", "--token", cluster.Token}, "User \"admin\" set.\n"},
		{[]string{"config", "set-context", "e2e", "--cluster", "local", "--user", "admin", "--namespace", ns}, "Context \"e2e\" created.\n"},
		{[]string{"config", "set-context", "other", "--cluster", "local", "--user", "admin"}, "Context \"other\" created.\n"},
		{[]string{"config", "use-context", "e2e"}, "Switched to context \"e2e\".\n"},
		{[]string{"config", "current-context"}, "e2e\n"},
	}
	for _, s := range steps {
		r := mustSucceed(t, run(s.args...))
		if r.Stdout != s.out {
			t.Errorf("%v: stdout %q, want %q", s.args, r.Stdout, s.out)
		}
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the cliconfig holds a token and must be 0600: %v %v", fi.Mode(), err)
	}
	r := mustSucceed(t, run("config", "get-contexts"))
	want := "CURRENT   NAME    CLUSTER   AUTHINFO   NAMESPACE\n" +
		"*         e2e     local     admin      " + ns + "\n" +
		"          other   local     admin      \n"
	if r.Stdout != want {
		t.Errorf("get-contexts:\n%s\nwant\n%s", r.Stdout, want)
	}
	// The same file, read by kubectl, lists the same contexts the same way.
	if k := mustSucceed(t, runIn(t, "", nil, kubectlPath(t), "--kubeconfig", cfg, "config", "get-contexts")); k.Stdout != r.Stdout {
		t.Errorf("get-contexts differs from kubectl's on the same file:\n%s\n%s", r.Stdout, k.Stdout)
	}
	// A get through the new context uses its cluster, user and namespace.
	r = mustSucceed(t, run("get", "plb", "-o", "name"))
	if r.Stdout != plbResource+"/in-config-ns\n" {
		t.Errorf("get through the new context: %s", r)
	}
	// --context picks another one for one command.
	r = mustSucceed(t, run("--context", "other", "get", "plb"))
	if r.Stderr != "No resources found in default namespace.\n" {
		t.Errorf("get --context other: %s", r)
	}
	r = run("config", "use-context", "nope")
	if r.Code != 1 || !strings.Contains(r.Stderr, `no context exists with the name: "nope"`) {
		t.Errorf("use-context of a missing context: %s", r)
	}
	v := mustSucceed(t, run("config", "view", "--minify"))
	if !strings.Contains(v.Stdout, "token: REDACTED") || strings.Contains(v.Stdout, cluster.Token) ||
		!strings.Contains(v.Stdout, "namespace: "+ns) {
		t.Errorf("config view --minify:\n%s", v.Stdout)
	}
}

// TestCommandsDescribeService: describe of a Service equals kubectl's.
func TestCommandsDescribeService(t *testing.T) {
	ns := newNamespace(t, "e2e-describe")
	mustSucceed(t, ccictl(t, "create", "-f", writeFile(t, "svc.yaml", strings.ReplaceAll(mustRead(t, "testdata/service.yaml"), "test-ns", ns))))
	r := mustSucceed(t, ccictl(t, "describe", "svc", "test-name", "-n", ns))
	for _, want := range []string{"Name:                     test-name\n", "Namespace:                " + ns + "\n", "Port:                     http  123/TCP\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("describe svc lacks %q:\n%s", want, r.Stdout)
		}
	}
	if k := mustSucceed(t, kubectl(t, "describe", "svc", "test-name", "-n", ns)); r.Stdout != k.Stdout {
		t.Errorf("describe svc differs from kubectl:\n--- ccictl\n%s--- kubectl\n%s", r.Stdout, k.Stdout)
	}
	r = ccictl(t, "describe", "svc", "missing", "-n", ns)
	if r.Code != 1 || r.Stderr != `Error from server (NotFound): services "missing" not found`+"\n" {
		t.Errorf("describe of a missing service: %s", r)
	}
}

// TestCommandsDescribePoolBinding: describe of PoolBindings (kubectl's
// generic describer, as the CRD has no typed one) equals kubectl's: one
// binding, a name prefix, a label selector, a selector matching nothing and
// a missing name (stdout, stderr, exit code).
func TestCommandsDescribePoolBinding(t *testing.T) {
	ns := newNamespace(t, "e2e-describe-plb")
	createPLBs(t, ns, map[string]string{"tier": "web"}, "web-1", "web-2")
	for _, args := range [][]string{
		{"describe", "plb", "web-1", "-n", ns},
		{"describe", "plb", "-l", "tier=none", "-n", ns},
		{"describe", "plb/missing", "-n", ns},
		{"describe", "-n", ns},
		{"describe", "plb", "web", "-n", ns, "--show-events=true"},
		{"describe", "plb", "-l", "tier=web", "-n", ns, "--show-events=true"},
	} {
		sameAsKubectl(t, strings.Join(args, " "), args, args)
	}
	// kubectl 1.36's describe (ccictl's) leaves events out for several
	// objects and a name prefix unless --show-events is given; kubectl 1.32
	// printed them.
	noEvents := func(out string) string { return strings.ReplaceAll(out, "Events:     <none>\n", "") }
	for _, args := range [][]string{
		{"describe", "plb", "web", "-n", ns},
		{"describe", "plb", "-l", "tier=web", "-n", ns},
	} {
		sameAsKubectlAs(t, strings.Join(args, " "), args, args, noEvents)
	}
	r := mustSucceed(t, ccictl(t, "describe", "plb", "web-1", "-n", ns))
	for _, want := range []string{"Name:         web-1\n", "Kind:         PoolBinding\n", "Pool Ref:\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("describe plb lacks %q:\n%s", want, r.Stdout)
		}
	}
}

// TestCommandsDelete: delete by label selector and --all.
func TestCommandsDelete(t *testing.T) {
	ns := newNamespace(t, "e2e-delete")
	createPLBs(t, ns, map[string]string{"tier": "web"}, "web-1", "web-2")
	createPLBs(t, ns, map[string]string{"tier": "db"}, "db-1")
	createPLBs(t, ns, nil, "plain")

	r := mustSucceed(t, ccictl(t, "delete", "plb", "-n", ns, "-l", "tier=web"))
	if want := plbResource + " \"web-1\" deleted from " + ns + " namespace\n" + plbResource + " \"web-2\" deleted from " + ns + " namespace\n"; r.Stdout != want {
		t.Errorf("delete -l: %q, want %q", r.Stdout, want)
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "name"))
	if r.Stdout != plbResource+"/db-1\n"+plbResource+"/plain\n" {
		t.Errorf("after delete -l the server holds %q", r.Stdout)
	}
	// A selector that matches nothing: kubectl's message (on stdout, as
	// kubectl's delete prints it), exit 0.
	r = mustSucceed(t, ccictl(t, "delete", "plb", "-n", ns, "-l", "tier=none"))
	if r.Stdout != "No resources found\n" || r.Stderr != "" {
		t.Errorf("delete -l matching nothing: %s", r)
	}
	if k := kubectl(t, "delete", "plb", "-n", ns, "-l", "tier=none"); k.Stdout != r.Stdout || k.Stderr != r.Stderr || k.Code != 0 {
		t.Errorf("kubectl says %s", k)
	}
	// A type with neither names, -l nor --all is refused.
	r = ccictl(t, "delete", "plb", "-n", ns)
	if r.Code != 1 || !strings.Contains(r.Stderr, "resource(s) were provided, but no name was specified") {
		t.Errorf("delete without names: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "delete", "plb", "-n", ns, "--all"))
	if want := plbResource + " \"db-1\" deleted from " + ns + " namespace\n" + plbResource + " \"plain\" deleted from " + ns + " namespace\n"; r.Stdout != want {
		t.Errorf("delete --all: %q, want %q", r.Stdout, want)
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "-n", ns))
	if r.Stderr != "No resources found in "+ns+" namespace.\n" {
		t.Errorf("after delete --all: %s", r)
	}
}

// TestCommandsGetTypesAndNamespaces: several types in one get, and -A across
// namespaces, as kubectl prints them.
func TestCommandsGetTypesAndNamespaces(t *testing.T) {
	ns1 := newNamespace(t, "e2e-multi-1")
	ns2 := newNamespace(t, "e2e-multi-2")
	// Everything here carries suite=multi, so -A comparisons can select this
	// test's objects and not those of others being deleted meanwhile.
	svc := strings.Replace(strings.ReplaceAll(mustRead(t, "testdata/service.yaml"), "test-ns", ns1),
		"  namespace: "+ns1+"\n", "  namespace: "+ns1+"\n  labels:\n    suite: multi\n", 1)
	mustSucceed(t, ccictl(t, "create", "-f", writeFile(t, "svc.yaml", svc)))
	createPLBs(t, ns1, map[string]string{"suite": "multi"}, "one")
	createPLBs(t, ns2, map[string]string{"suite": "multi"}, "two")

	r := mustSucceed(t, ccictl(t, "get", "svc,plb", "-n", ns1))
	parts := strings.Split(r.Stdout, "\n\n")
	if len(parts) != 2 || rowNames(parts[0])[0] != "service/test-name" || rowNames(parts[1])[0] != plbResource+"/one" {
		t.Errorf("get svc,plb: two tables with kind-qualified names expected:\n%s", r.Stdout)
	}
	// Each type is its own table with its own widths: the wide PoolBinding
	// names first must not widen the Service table after them.
	r = mustSucceed(t, ccictl(t, "get", "plb,svc", "-n", ns1))
	parts = strings.Split(r.Stdout, "\n\n")
	if len(parts) != 2 {
		t.Fatalf("get plb,svc: two tables expected:\n%s", r.Stdout)
	}
	for i, name := range []string{plbResource + "/one", "service/test-name"} {
		want := []int{len(name) + 3, len(name) + 3}
		if got := secondColumns(parts[i]); !reflect.DeepEqual(got, want) || rowNames(parts[i])[0] != name {
			t.Errorf("get plb,svc: table %d (%s) has its second column at %v, want %v:\n%s", i, name, got, want, r.Stdout)
		}
	}
	for _, args := range [][]string{
		{"get", "svc,plb", "-n", ns1},
		{"get", "plb,svc", "-n", ns1},
		{"get", "plb", "-A", "-l", "suite=multi"},
		{"get", "plb,svc", "-A", "-l", "suite=multi"},
		{"get", "plb,svc", "-A", "-l", "suite=multi", "-o", "wide"},
	} {
		ours := mustSucceed(t, ccictl(t, args...))
		theirs := mustSucceed(t, kubectl(t, args...))
		if ours.Stdout != theirs.Stdout && maskAge(ours.Stdout) != maskAge(theirs.Stdout) {
			t.Errorf("ccictl %v differs from kubectl:\n--- ccictl\n%s--- kubectl\n%s", args, ours.Stdout, theirs.Stdout)
		}
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "-A"))
	for _, want := range []string{ns1 + " ", ns2 + " "} {
		if !strings.Contains(r.Stdout, "\n"+want) {
			t.Errorf("get -A lacks a row in %s:\n%s", want, r.Stdout)
		}
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "-A", "-o", "name"))
	if !strings.Contains(r.Stdout, plbResource+"/one\n") || !strings.Contains(r.Stdout, plbResource+"/two\n") {
		t.Errorf("get -A -o name: %s", r)
	}
}

// TestCommandsRequestTimeout: --request-timeout reaches every request and
// bounds it; a malformed value is refused before anything is sent.
func TestCommandsRequestTimeout(t *testing.T) {
	r := mustSucceed(t, ccictl(t, "-v=6", "--request-timeout=30s", "get", "ns", "default"))
	if !strings.Contains(r.Stderr, "timeout=30s") || strings.Contains(r.Stderr, "timeout=32s") {
		t.Errorf("--request-timeout=30s not sent to the server:\n%s", r.Stderr)
	}
	// 1ms is too short for any request over TLS.
	r = ccictl(t, "--request-timeout=1ms", "get", "ns", "default")
	// Which of net/http's two wordings appears depends on where the deadline
	// hits (dialling or awaiting headers); both say the timeout fired.
	if last := lastLine(r.Stderr); r.Code != 1 || !strings.HasPrefix(last, "Unable to connect to the server:") ||
		!(strings.Contains(last, "Client.Timeout exceeded") || strings.Contains(last, "context deadline exceeded")) {
		t.Errorf("--request-timeout=1ms: %s", r)
	}
	r = ccictl(t, "--request-timeout=soon", "get", "ns", "default")
	if r.Code != 1 || r.Stderr != "error: Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)\n" {
		t.Errorf("--request-timeout=soon: %s", r)
	}
}

// TestCommandsSettingsPrecedence: flag > CCICTL_* env > settings file >
// default, with the namespace as the example setting.
func TestCommandsSettingsPrecedence(t *testing.T) {
	nsEnv := newNamespace(t, "e2e-settings-env")
	nsFile := newNamespace(t, "e2e-settings-file")
	nsFlag := newNamespace(t, "e2e-settings-flag")
	createPLBs(t, nsEnv, nil, "from-env")
	createPLBs(t, nsFile, nil, "from-file")
	createPLBs(t, nsFlag, nil, "from-flag")

	settings := writeFile(t, "settings.yaml", "namespace: "+nsFile+"\n")
	xdg := t.TempDir() // a default settings file lives at $XDG_CONFIG_HOME/ccictl/config.yaml
	if err := os.MkdirAll(filepath.Join(xdg, "ccictl"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(xdg, "ccictl", "config.yaml"), []byte("namespace: "+nsFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getName := func(env []string, args ...string) result {
		t.Helper()
		return mustSucceed(t, runIn(t, "", env, ccictlBin, append([]string{"--cliconfig", cliconfig}, append(args, "get", "plb", "-o", "name")...)...))
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string // binding name; "" = none (the context's default namespace)
	}{
		{"nothing set", nil, nil, ""},
		{"env", []string{"CCICTL_NAMESPACE=" + nsEnv}, nil, "from-env"},
		{"settings file", nil, []string{"--settings", settings}, "from-file"},
		{"settings file from CCICTL_SETTINGS", []string{"CCICTL_SETTINGS=" + settings}, nil, "from-file"},
		{"default settings file", []string{"XDG_CONFIG_HOME=" + xdg}, nil, "from-file"},
		{"env beats file", []string{"CCICTL_NAMESPACE=" + nsEnv}, []string{"--settings", settings}, "from-env"},
		{"flag beats env and file", []string{"CCICTL_NAMESPACE=" + nsEnv, "XDG_CONFIG_HOME=" + xdg}, []string{"--settings", settings, "-n", nsFlag}, "from-flag"},
	} {
		r := getName(tc.env, tc.args...)
		want := ""
		if tc.want != "" {
			want = plbResource + "/" + tc.want + "\n"
		}
		if r.Stdout != want {
			t.Errorf("%s: got %q, want %q (%s)", tc.name, r.Stdout, want, r)
		}
	}

	// A missing explicit settings file is an error naming it; a missing
	// default one (the case above with nothing set) is fine.
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, how := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"--settings", missing}},
		{[]string{"CCICTL_SETTINGS=" + missing}, nil},
	} {
		r := runIn(t, "", how.env, ccictlBin, append([]string{"--cliconfig", cliconfig}, append(how.args, "get", "plb")...)...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "settings file "+missing) || !strings.Contains(r.Stderr, "no such file") {
			t.Errorf("missing explicit settings file (%v %v): %s", how.env, how.args, r)
		}
	}
	// A settings file that is not YAML is an error too, not silently ignored.
	bad := writeFile(t, "bad.yaml", "namespace: [unclosed\n")
	r := runIn(t, "", nil, ccictlBin, "--cliconfig", cliconfig, "--settings", bad, "get", "plb")
	if r.Code != 1 || !strings.Contains(r.Stderr, bad) {
		t.Errorf("malformed settings file: %s", r)
	}
}
