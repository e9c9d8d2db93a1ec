package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestSettingsCannotLoosenSyncGuards: CCICTL_ALLOW_EMPTY, CCICTL_PRUNE_ORPHANS
// and allow-empty in the settings file do not switch off the guard against
// emptying a pool (EmptyRefused, exit 1, pool untouched), and each is
// reported as ignored; elb-token in the settings file is not a credential;
// an allowed setting from the environment shows at -v=2.
func TestSettingsCannotLoosenSyncGuards(t *testing.T) {
	e := newSyncEnv(t, "settings-guards")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.9.0.1"))
	e.waitSlices("web", "10.9.0.1:8080")
	mustSucceed(t, e.sync())
	want := owned(markerOf(e.ns, "b1", uid), "10.9.0.1:8080")

	e.setPodStatus("p1", "10.9.0.1", false)
	e.waitSlices("web")

	settings := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(settings, []byte("allow-empty: true\nprune-orphans: true\nelb-token: "+syncToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(e.syncEnvVars(), "CCICTL_ALLOW_EMPTY=1", "CCICTL_PRUNE_ORPHANS=1", "CCICTL_SETTINGS="+settings)
	e.emu.ResetCounts()
	r := runIn(t, "", env, ccictlBin, e.syncArgs()...)
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: EmptyRefused: ") {
		t.Errorf("CCICTL_ALLOW_EMPTY=1 and allow-empty in the settings file: %s", r)
	}
	for _, w := range []string{
		"Warning: CCICTL_ALLOW_EMPTY is ignored: --allow-empty is taken from the command line only\n",
		"Warning: CCICTL_PRUNE_ORPHANS is ignored: --prune-orphans is taken from the command line only\n",
		`Warning: "allow-empty" in settings file ` + settings + " is ignored: --allow-empty is taken from the command line only\n",
		`Warning: "elb-token" in settings file ` + settings + " is ignored: credentials are never read from the settings file; use CCICTL_ELB_TOKEN\n",
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q: %s", w, r)
		}
	}
	e.wantCalls(1, 1, 0, 0)
	e.wantPool(syncPool, want)
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason}`); st != "EmptyRefused" {
		t.Errorf("Synced reason = %q", st)
	}

	// elb-token in the settings file alone gives no ELB credentials, and the
	// token is never printed.
	r = runIn(t, "", []string{"CCICTL_SETTINGS=" + settings}, ccictlBin, e.syncArgs()...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no ELB credentials") || strings.Contains(r.Stdout+r.Stderr, syncToken) {
		t.Errorf("elb-token from the settings file: %s", r)
	}
	e.wantPool(syncPool, want)

	// Allowed settings still apply, and -v=2 says where they came from; the
	// ELB token's value is masked.
	args := []string{"--cliconfig", e.config, "sync", "-v=2", "--project-id", syncProject}
	r = runIn(t, "", append(e.syncEnvVars(), "CCICTL_ELB_ENDPOINT="+e.url, "CCICTL_NAMESPACE="+e.ns), ccictlBin, args...)
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: EmptyRefused: ") {
		t.Errorf("CCICTL_ELB_ENDPOINT and CCICTL_NAMESPACE: %s", r)
	}
	for _, w := range []string{
		`"Setting from outside the command line" flag="elb-endpoint" value="` + e.url + `" from="environment CCICTL_ELB_ENDPOINT"`,
		`"Setting from outside the command line" flag="namespace" value="` + e.ns + `" from="environment CCICTL_NAMESPACE"`,
		`"Setting from outside the command line" key="elb-token" value="<redacted>" from="environment CCICTL_ELB_TOKEN"`,
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("-v=2 lacks %s: %s", w, r)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, syncToken) {
		t.Errorf("ELB token printed at -v=2: %s", r)
	}
	e.wantPool(syncPool, want)
}

// sameAsKubectl runs the same arguments through ccictl and kubectl on the
// same cluster and compares stdout, stderr and exit code, with the tool's
// name and each one's own object names (from, to) mapped.
func sameAsKubectl(t *testing.T, what string, ccictlArgs, kubectlArgs []string, names ...string) {
	t.Helper()
	sameAsKubectlAs(t, what, ccictlArgs, kubectlArgs, nil, names...)
}

// sameAsKubectlAs is sameAsKubectl with kubectl's stdout passed through
// asNewer first: the installed kubectl is 1.32, ccictl's verbs are kubectl
// 1.36's packages, and where 1.36 changed its words asNewer says how.
func sameAsKubectlAs(t *testing.T, what string, ccictlArgs, kubectlArgs []string, asNewer func(string) string, names ...string) {
	t.Helper()
	c, k := ccictl(t, ccictlArgs...), kubectl(t, kubectlArgs...)
	if asNewer != nil {
		k.Stdout = asNewer(k.Stdout)
	}
	norm := func(s, tool string) string { return strings.ReplaceAll(s, tool, "TOOL") }
	cout, cerr := norm(c.Stdout, "ccictl"), norm(c.Stderr, "ccictl")
	kout, kerr := norm(k.Stdout, "kubectl"), norm(k.Stderr, "kubectl")
	for i := 0; i+1 < len(names); i += 2 {
		kout = strings.ReplaceAll(kout, names[i+1], names[i])
		kerr = strings.ReplaceAll(kerr, names[i+1], names[i])
	}
	if cout != kout || cerr != kerr || c.Code != k.Code {
		t.Errorf("%s: ccictl and kubectl differ\nccictl:  %s\nkubectl: exit %d\n--- stdout\n%s--- stderr\n%s", what, c, k.Code, k.Stdout, k.Stderr)
	}
}

// TestDeleteGracePeriodLikeKubectl: --force, --now and --grace-period follow
// kubectl's rules (0 without --force is 1; --force alone is 0; --now is 1;
// conflicting combinations are errors), with kubectl's messages.
func TestDeleteGracePeriodLikeKubectl(t *testing.T) {
	ns := newNamespace(t, "delete-grace")
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n"
	}
	for i, args := range [][]string{
		{"--grace-period=0"},
		{"--force"},
		{"--force", "--grace-period=0"},
		{"--now"},
		{"--now", "--grace-period=5"},
		{"--force", "--grace-period=5"},
		{"--grace-period=3", "--wait=false"},
	} {
		c, k := fmt.Sprintf("c%d", i), fmt.Sprintf("k%d", i)
		mustSucceed(t, runIn(t, cm(c)+"---\n"+cm(k), nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
		sameAsKubectlAs(t, strings.Join(args, " "),
			append([]string{"delete", "configmap", c, "-n", ns}, args...),
			append([]string{"delete", "configmap", k, "-n", ns}, args...), deletedFrom(ns), c, k)
	}

	// On a pod (whose node has no kubelet, so nothing finishes terminating
	// on its own) --grace-period=0 alone is a graceful delete that leaves it
	// terminating, as in kubectl; --force removes it at once.
	e := newSyncEnv(t, ns+"-pods")
	e.pods("app", readyPod("graceful", "10.11.0.1"), readyPod("forced", "10.11.0.2"))
	mustSucceed(t, ccictl(t, "delete", "pod", "graceful", "-n", e.ns, "--grace-period=0", "--wait=false"))
	got := mustSucceed(t, ccictl(t, "get", "pod", "graceful", "-n", e.ns, "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}"))
	if got.Stdout != "1" {
		t.Errorf("--grace-period=0 without --force: deletionGracePeriodSeconds %q, want 1 (as kubectl)", got.Stdout)
	}
	r := mustSucceed(t, ccictl(t, "delete", "pod", "forced", "-n", e.ns, "--force"))
	if r.Stdout != `pod "forced" force deleted from `+e.ns+" namespace\n" || !strings.HasPrefix(r.Stderr, "Warning: Immediate deletion does not wait") {
		t.Errorf("--force: %s", r)
	}
	if r := ccictl(t, "get", "pod", "forced", "-n", e.ns); r.Code != 1 || !strings.Contains(r.Stderr, "NotFound") {
		t.Errorf("force-deleted pod still there: %s", r)
	}
}

// deletedFrom maps kubectl 1.32's delete lines (`kind "name" deleted`) to
// kubectl 1.36's, which ccictl's delete prints: a namespaced object is
// `kind "name" deleted from NS namespace` (before any "(dry run)").
func deletedFrom(ns string) func(string) string {
	line := regexp.MustCompile(`(?m)^(\S+ "[^"]+" (?:force )?deleted)( \((?:server )?dry run\))?$`)
	return func(out string) string {
		return line.ReplaceAllString(out, "${1} from "+ns+" namespace${2}")
	}
}

// TestValidationFlagsAreUsageErrors: an unknown --platform or rule ID is a
// usage error in create, apply and validate alike (before any config or
// server is needed); --disable, the old name of --disable-rule, still works
// and says it is deprecated; a missing -f is reported once, in kubectl's
// words.
func TestValidationFlagsAreUsageErrors(t *testing.T) {
	f := writeFile(t, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n")
	for _, verb := range []string{"create", "apply", "validate"} {
		for _, tc := range []struct{ flag, want string }{
			{"--platform=bogus", `error: unknown platform "bogus" (known: cci, cce, kubernetes, serverless-blb, serverless-kube-proxy, edge-nodepool)`},
			{"--disable-rule=PLB999", `error: unknown rule "PLB999"`},
			{"--disable=PLB999", "Flag --disable has been deprecated, use --disable-rule\nerror: unknown rule \"PLB999\""},
		} {
			r := runIn(t, "", nil, ccictlBin, verb, "-f", f, tc.flag)
			want := tc.want + "\nSee 'ccictl " + verb + " -h' for help and examples\n"
			if r.Code != 1 || r.Stdout != "" || r.Stderr != want {
				t.Errorf("%s %s: want exit 1 and %q: %s", verb, tc.flag, want, r)
			}
		}
	}
	// create and apply have -k, as kubectl's: kubectl's words.
	for _, verb := range []string{"create", "apply"} {
		if r, k := runIn(t, "", nil, ccictlBin, verb), kubectl(t, verb); r.Code != 1 || r != k || r.Stderr != "error: must specify one of -f and -k\n" {
			t.Errorf("%s without -f: %s\nkubectl: %s", verb, r, k)
		}
	}
}

// TestValidationDefaultsFollowTheServer: only rules the platform documents
// (or the API's schema enforces) as errors refuse an object by default.
// group v1 on a plain cluster is accepted as by kubectl; a binding without
// targetRef.group is sent with a warning and the server's own answer decides;
// and a namespace exported with `get -o yaml` is applied back even though
// its two generated bindings share a pool (PLB009 warns).
func TestValidationDefaultsFollowTheServer(t *testing.T) {
	ns := newNamespace(t, "validate-defaults")
	binding := func(name, group string) string {
		m := poolBindingManifest(ns, name, e2ePoolID)
		if group == "" {
			return strings.Replace(m, "    group: cci/v2\n", "", 1)
		}
		return strings.Replace(m, "group: cci/v2", "group: "+group, 1)
	}
	// group: v1 is created by both tools alike; ccictl's only addition is
	// PLB005's warning that CCI 2.0 would want cci/v2.
	c := ccictl(t, "create", "-f", writeFile(t, "c.yaml", binding("c-v1", "v1")))
	k := kubectl(t, "create", "-f", writeFile(t, "k.yaml", binding("k-v1", "v1")))
	if c.Code != 0 || k.Code != 0 || strings.ReplaceAll(c.Stdout, "c-v1", "X") != strings.ReplaceAll(k.Stdout, "k-v1", "X") ||
		!strings.HasPrefix(c.Stderr, "Warning: ") || !strings.Contains(c.Stderr, "warning PLB005") || strings.Count(c.Stderr, "\n") != 1 {
		t.Errorf("group v1: ccictl %s\nkubectl %s", c, k)
	}

	// Without a group the request is sent and the server decides (this
	// API's schema requires the field): same exit code as kubectl, the
	// server's reason, and ccictl's warning before it.
	c = ccictl(t, "create", "-f", writeFile(t, "nogroup.yaml", binding("c-nogroup", "")))
	k = kubectl(t, "create", "-f", writeFile(t, "nogroup.yaml", binding("k-nogroup", "")))
	if c.Code != k.Code || strings.Contains(c.Stderr, "not sent") || !strings.Contains(c.Stderr, "warning PLB004") ||
		!strings.Contains(c.Stderr, "spec.targetRef.group: Required value") || !strings.Contains(k.Stderr, "spec.targetRef.group: Required value") {
		t.Errorf("no targetRef.group: ccictl %s\nkubectl %s", c, k)
	}

	// Export → re-apply: two bindings from the generator on one pool.
	mustSucceed(t, ccictl(t, "-n", ns, "create", "service", "loadbalancer", "web", "--tcp=80:8080"))
	for _, name := range []string{"gen-a", "gen-b"} {
		mustSucceed(t, ccictl(t, "-n", ns, "create", "poolbinding", name, "--pool-id="+e2ePoolID, "--service=web", "--port=80"))
	}
	export := mustSucceed(t, ccictl(t, "get", "svc,plb", "-n", ns, "-o", "yaml"))
	path := writeFile(t, "export.yaml", export.Stdout)
	r := ccictl(t, "apply", "-f", path)
	if r.Code != 0 || !strings.Contains(r.Stderr, "warning PLB009") || strings.Contains(r.Stderr, "not sent") {
		t.Errorf("re-apply of an exported namespace: %s", r)
	}
	if v := mustSucceed(t, ccictl(t, "validate", "-f", path)); !strings.Contains(v.Stdout, "warning PLB009") {
		t.Errorf("validate of the export: %s", v)
	}
}

// TestConfigSubcommandsLikeKubectl: an unknown config subcommand is kubectl's
// usage error (exit 1), config alone prints its help on stderr with exit 1
// as kubectl does, and with no config at all the error says which files and
// variables ccictl reads instead of client-go's KUBERNETES_MASTER.
func TestConfigSubcommandsLikeKubectl(t *testing.T) {
	for _, args := range [][]string{{"config", "bogus"}, {"config", "bogus", "extra"}} {
		c, k := runIn(t, "", nil, ccictlBin, args...), kubectl(t, args...)
		if c.Code != 1 || c.Code != k.Code || c.Stdout != k.Stdout || c.Stderr != strings.ReplaceAll(k.Stderr, "'kubectl ", "'ccictl ") {
			t.Errorf("%v: ccictl %s\nkubectl %s", args, c, k)
		}
	}
	c, k := runIn(t, "", nil, ccictlBin, "config"), kubectl(t, "config")
	if c.Code != 1 || k.Code != 1 || c.Stdout != "" || k.Stdout != "" || !strings.HasPrefix(c.Stderr, "Modify cliconfig files") {
		t.Errorf("config alone: ccictl %s\nkubectl %s", c, k)
	}
	for _, args := range [][]string{{"get", "pods"}, {"create", "-f", "-"}, {"wait", "--for=delete", "pod/x"}} {
		r := runIn(t, "", nil, ccictlBin, args...)
		if r.Code != 1 || strings.Contains(r.Stderr, "KUBERNETES_MASTER") ||
			!strings.Contains(r.Stderr, "error: no configuration has been provided: pass --cliconfig or --kubeconfig, set CLICONFIG or KUBECONFIG, or create $HOME/.kubev2/config (see 'ccictl help environment')") {
			t.Errorf("%v without any config: %s", args, r)
		}
	}
}

// TestDeleteFileReportsBrokenDocument: delete -f reads files as create
// does: a document that cannot be read is reported with its file and line
// (exit 1) and the objects of the other documents are still deleted, with
// kubectl's words.
func TestDeleteFileReportsBrokenDocument(t *testing.T) {
	ns := newNamespace(t, "delete-file")
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept-out\n  namespace: " + ns + "\n"
	mustSucceed(t, runIn(t, cm, nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	file := writeFile(t, "mixed.yaml", cm+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n")
	r := ccictl(t, "delete", "-f", file)
	if r.Code != 1 || r.Stdout != `configmap "kept-out" deleted from `+ns+" namespace\n" || !strings.Contains(r.Stderr, file+":9: invalid YAML") {
		t.Errorf("delete -f with a broken second document: %s", r)
	}
	if g := ccictl(t, "get", "configmap", "kept-out", "-n", ns); g.Code != 1 || !strings.Contains(g.Stderr, "NotFound") {
		t.Errorf("the readable document's object is still there: %s", g)
	}
	// The same from stdin: kubectl's own reading of -f never consumes it.
	mustSucceed(t, runIn(t, cm, nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	r = runIn(t, cm, nil, ccictlBin, "--cliconfig", cliconfig, "delete", "-f", "-", "-o", "name")
	if r.Code != 0 || r.Stdout != "configmap/kept-out\n" {
		t.Errorf("delete -f - -o name: %s", r)
	}
}

// TestDeleteWaitEndsOnInterrupt: the first SIGINT ends a delete that waits
// for an object to be gone (a pod that stays terminating, its node having
// no kubelet) as it ends kubectl's: exit 1, nothing more printed (kubectl's
// wait package ends the process itself; ccictl ends the command).
func TestDeleteWaitEndsOnInterrupt(t *testing.T) {
	e := newSyncEnv(t, "delete-interrupt")
	e.pods("app", readyPod("stuck-c", "10.11.0.3"), readyPod("stuck-k", "10.11.0.4"))
	tools := [2]*started{
		start(t, ccictlBin, "--cliconfig", cliconfig, "delete", "pod", "stuck-c", "-n", e.ns),
		start(t, kubectlPath(t), "--kubeconfig", cluster.Kubeconfig, "delete", "pod", "stuck-k", "-n", e.ns),
	}
	var ended [2]result
	for i, s := range tools {
		if !waitFor(20*time.Second, func() bool { return strings.Contains(s.out.String(), " deleted") }) {
			s.running(t)
			t.Fatalf("%v did not print its deletion: %s%s", s.cmd.Args, s.out.String(), s.err.String())
		}
		time.Sleep(time.Second) // waiting for the pod to be gone now
		s.running(t)
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case ended[i] = <-s.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("%v still waiting 15s after SIGINT: %s%s", s.cmd.Args, s.out.String(), s.err.String())
		}
	}
	// kubectl 1.32 says "deleted", kubectl 1.36 (ccictl's) "deleted from NS namespace".
	want := result{Stdout: `pod "stuck-c" deleted from ` + e.ns + " namespace\n", Code: 1}
	if ended[0] != want {
		t.Errorf("interrupted ccictl delete: %s, want %s", ended[0], want)
	}
	if k := ended[1]; k.Code != 1 || k.Stderr != "" || k.Stdout != `pod "stuck-k" deleted`+"\n" {
		t.Errorf("interrupted kubectl delete: %s", k)
	}
}

// TestDeleteWaitsLikeKubectl: delete waits until an object held by a
// finalizer is gone (the finalizer removed during the wait) and, with
// --timeout, gives up with kubectl's message and exit code; ccictl waits
// through its own context, not kubectl's process-exiting loop.
func TestDeleteWaitsLikeKubectl(t *testing.T) {
	ns := newNamespace(t, "delete-wait")
	held := func(names ...string) {
		var docs []string
		for _, n := range names {
			docs = append(docs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+n+"\n  namespace: "+ns+"\n  finalizers: [openvessel.io/hold]\n")
		}
		mustSucceed(t, runIn(t, strings.Join(docs, "---\n"), nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	}
	release := func(names ...string) {
		for _, n := range names {
			mustSucceed(t, kubectl(t, "patch", "configmap", n, "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`))
		}
	}

	held("wait-c", "wait-k")
	tools := [2]*started{
		start(t, ccictlBin, "--cliconfig", cliconfig, "delete", "configmap", "wait-c", "-n", ns),
		start(t, kubectlPath(t), "--kubeconfig", cluster.Kubeconfig, "delete", "configmap", "wait-k", "-n", ns),
	}
	time.Sleep(2 * time.Second)
	for _, s := range tools {
		s.running(t)
	}
	release("wait-c", "wait-k")
	c, k := tools[0].wait(t), tools[1].wait(t)
	k.Stdout = strings.ReplaceAll(deletedFrom(ns)(k.Stdout), "wait-k", "wait-c")
	if c != k || c.Code != 0 || c.Stdout != `configmap "wait-c" deleted from `+ns+" namespace\n" {
		t.Errorf("delete waiting for a finalizer: ccictl %s\nkubectl %s", c, k)
	}

	held("slow-c", "slow-k")
	t.Cleanup(func() { release("slow-c", "slow-k") })
	sameAsKubectlAs(t, "delete --timeout",
		[]string{"delete", "configmap", "slow-c", "-n", ns, "--timeout=2s"},
		[]string{"delete", "configmap", "slow-k", "-n", ns, "--timeout=2s"}, deletedFrom(ns), "slow-c", "slow-k")
	r := ccictl(t, "get", "configmap", "slow-c", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}")
	if r.Code != 0 || r.Stdout == "" {
		t.Errorf("the held ConfigMap is not being deleted: %s", r)
	}
}
