package main_test

// End-to-end tests of how `ccictl sync` executes a pass under hostile
// conditions: stalled and credential-echoing ELB answers, Ctrl-C, SIGTERM
// and --timeout, forbidden namespaces, overlapping passes and bindings that
// change underneath a pass. The built binary runs against the real API
// server and the ELB emulator.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poollock"
)

// syncedCond is "status reason observedGeneration" of the Synced condition.
func (e *syncEnv) syncedCond(binding string) string {
	e.t.Helper()
	return e.jsonpath(binding, `{.status.conditions[?(@.type=="Synced")].status} {.status.conditions[?(@.type=="Synced")].reason} {.status.observedGeneration}`)
}

// TestSyncStalledELBRequest: a stalled ELB call is abandoned after
// --elb-request-timeout and retried within --timeout; without a per-attempt
// bound the same stall uses up the whole pass.
func TestSyncStalledELBRequest(t *testing.T) {
	e := newSyncEnv(t, "sync-stall")
	e.pool(syncPool)
	want := addrs("10.40", 0, 3)
	e.manualSlice("web", 123, 8080, want)
	uid := e.binding("b1", syncPool, "web", 123)

	e.emu.SetFaults(elbemulator.Faults{StallFirst: 1, StallFor: time.Minute})
	r := e.sync("--elb-request-timeout", "0", "--timeout", "2s")
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 failed: Timeout: ") {
		t.Errorf("a stall with no per-attempt bound: want exit 1 and Timeout, got %s", r)
	}
	if got := e.syncedCond("b1"); got != "False Timeout 1" {
		t.Errorf("status after the timed-out pass: %q, want \"False Timeout 1\"", got)
	}
	e.wantPool(syncPool, map[string]string{})

	e.emu.SetFaults(elbemulator.Faults{StallFirst: 1, StallFor: time.Minute})
	e.emu.ResetCounts()
	start := time.Now()
	wantLine(t, e.sync("--elb-request-timeout", "500ms", "--timeout", "20s"), 0, "poolbinding/b1: +3 -0 =0 foreign=0")
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the pass took %v; the stalled attempt should have been abandoned after 500ms", d)
	}
	// The stalled GetPool was dropped unserved; its retry is the one counted.
	if c := e.emu.Counts(); c[elbemulator.OpStalled] != 1 {
		t.Errorf("stalled calls = %d, want 1 (the fault did not fire)", c[elbemulator.OpStalled])
	}
	e.wantCalls(1, 1, 1, 0)
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), withPort(want, 8080)...))
	if got := e.syncedCond("b1"); got != "True Synced 1" {
		t.Errorf("status: %q", got)
	}
}

// TestSyncEchoedCredentialsMasked: an ELB error body that echoes the
// request's token, or its AK/SK signature, is masked in the per-binding
// line, the -o json report, stderr and the PoolBinding's status.
func TestSyncEchoedCredentialsMasked(t *testing.T) {
	e := newSyncEnv(t, "sync-echo")
	e.pool(syncPool)
	e.manualSlice("web", 123, 8080, addrs("10.41", 0, 2))
	e.binding("b1", syncPool, "web", 123)

	check := func(mode string, r result, secrets ...string) {
		t.Helper()
		if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "request rejected; it carried") {
			t.Fatalf("%s: want the echoing answer to fail the pass, got %s", mode, r)
		}
		// JSON escapes < and > (Go's encoder does, for HTML safety).
		if !strings.Contains(r.Stdout, "<masked>") && !strings.Contains(r.Stdout, `\u003cmasked\u003e`) {
			t.Errorf("%s: nothing masked in the output: %s", mode, r)
		}
		status := e.jsonpath("b1", `{.status.conditions}`)
		if !strings.Contains(status, "request rejected") {
			t.Errorf("%s: the status does not carry the error, so it proves nothing: %s", mode, status)
		}
		for _, s := range secrets {
			if strings.Contains(r.Stdout+r.Stderr, s) {
				t.Errorf("%s: secret %q… printed: %s", mode, s[:6], r)
			}
			if strings.Contains(status, s) {
				t.Errorf("%s: secret %q… written into the PoolBinding status: %s", mode, s[:6], status)
			}
		}
	}

	// Token mode, line output, at -v=9.
	e.emu.SetFaults(elbemulator.Faults{EchoCredentialsFirst: 1})
	check("token", e.sync("-v=9"), syncToken)
	// Token mode, JSON report.
	e.emu.SetFaults(elbemulator.Faults{EchoCredentialsFirst: 1})
	r := e.sync("-o", "json")
	check("token -o json", r, syncToken)
	var rep struct {
		Results []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Results) != 1 || !strings.Contains(rep.Results[0].Message, "<masked>") {
		t.Errorf("report: %v %+v", err, rep)
	}

	// AK/SK mode: the access key and this request's signature (which no
	// registry knows in advance) are echoed.
	const ak, sk = "E2EECHOACCESSKEY0001", "e2e-echo-secret-key-4f1a9c2b7d3e5f60"
	emu := elbemulator.New(elbemulator.Options{ProjectID: syncProject, AccessKey: ak, SecretKey: sk})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	emu.CreatePool(elb.Pool{ID: syncPool})
	e.emu, e.url = emu, srv.URL
	e.extraEnv = []string{"HW_ACCESS_KEY=" + ak, "HW_SECRET_KEY=" + sk}
	emu.SetFaults(elbemulator.Faults{EchoCredentialsFirst: 1})
	r = e.sync()
	// Signatures differ per request, so look for their shape: no run of 64
	// hex digits (an HMAC-SHA256) may survive.
	for _, f := range strings.FieldsFunc(r.Stdout+r.Stderr, func(c rune) bool { return !strings.ContainsRune("0123456789abcdef", c) }) {
		if len(f) >= 64 {
			t.Errorf("AK/SK: a signature survived in the output: %s…\n%s", f[:8], r)
		}
	}
	check("AK/SK", r, ak, sk)
	if emu.Counts()[elbemulator.OpEchoed] != 1 {
		t.Errorf("AK/SK: the emulator did not echo: %v", emu.Counts())
	}
}

// interrupted starts a pass over two bindings one at a time, waits for the
// first batch-add and sends sig; it returns the pass's result.
func interrupted(t *testing.T, e *syncEnv, sig os.Signal) result {
	t.Helper()
	e.emu.SetLatency(300 * time.Millisecond)
	defer e.emu.SetLatency(0)
	e.emu.ResetCounts()
	var out, errb bytes.Buffer
	cmd := e.start(&out, &errb, "--concurrency", "1")
	deadline := time.Now().Add(30 * time.Second)
	for e.emu.Counts()[elbemulator.OpBatchAddMembers] < 1 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no batch-add happened\n%s%s", out.String(), errb.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = cmd.Wait()
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the interrupted pass took %v to end", d)
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
}

// TestSyncInterruptedStatus: after Ctrl-C, SIGTERM or --timeout every
// binding's status says Synced=False with reason Canceled or Timeout — the
// one interrupted mid-write and the one never started — replacing the
// Synced=True of the pass before; no removal happened.
func TestSyncInterruptedStatus(t *testing.T) {
	for _, tc := range []struct {
		name, ns string
		sig      os.Signal // nil: --timeout
		reason   string
	}{
		{"SIGINT", "sync-sigint", syscall.SIGINT, "Canceled"},
		{"SIGTERM", "sync-sigterm", syscall.SIGTERM, "Canceled"},
		{"timeout", "sync-timeout", nil, "Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSyncEnv(t, tc.ns)
			e.pool(syncPool)
			const pool2 = "a7c1e0d2-3b4f-4c5d-8e9f-0a1b2c3d4e5f"
			e.pool(pool2)
			old := addrs("10.42", 0, 10)
			e.manualSlice("web", 123, 8080, old)
			uid1 := e.binding("b1", syncPool, "web", 123)
			uid2 := e.binding("b2", pool2, "web", 123)
			mustSucceed(t, e.sync())
			for _, b := range []string{"b1", "b2"} {
				if got := e.syncedCond(b); got != "True Synced 1" {
					t.Fatalf("%s after the first pass: %q", b, got)
				}
			}
			next := addrs("10.43", 0, 600) // 3 batch-adds per binding, then removals
			e.manualSlice("web", 123, 8080, next)

			var r result
			if tc.sig != nil {
				r = interrupted(t, e, tc.sig)
			} else {
				e.emu.SetLatency(300 * time.Millisecond)
				r = e.sync("--concurrency", "1", "--timeout", "1s")
				e.emu.SetLatency(0)
			}
			if r.Code != 1 {
				t.Fatalf("interrupted pass: want exit 1, got %s", r)
			}
			for _, b := range []string{"b1", "b2"} {
				if !strings.Contains(r.Stdout, "poolbinding/"+b+": ") || !strings.Contains(r.Stdout, "failed: "+tc.reason) {
					t.Errorf("output does not say %s failed with %s:\n%s", b, tc.reason, r)
				}
				if got := e.syncedCond(b); got != "False "+tc.reason+" 1" {
					t.Errorf("%s status after the interrupted pass: %q, want \"False %s 1\"\n%s", b, got, tc.reason, r)
				}
			}
			if strings.Contains(r.Stderr, "status not written") {
				t.Errorf("status writes failed: %s", r.Stderr)
			}
			// Nothing old was removed (adds come first, the pass stopped in
			// them), and the binding that never started left its pool alone.
			untouched := 0
			for pool, owner := range map[string]string{syncPool: markerOf(e.ns, "b1", uid1), pool2: markerOf(e.ns, "b2", uid2)} {
				got := e.members(pool)
				for _, a := range old {
					if got[a+":8080"] != owner {
						t.Errorf("pool %s lost old member %s", pool, a)
					}
				}
				if len(got) == len(old) {
					untouched++
				}
			}
			if untouched == 0 {
				t.Errorf("both pools changed; with --concurrency 1 one binding should never have started")
			}
			mustSucceed(t, e.sync())
			for _, b := range []string{"b1", "b2"} {
				if got := e.syncedCond(b); got != "True Synced 1" {
					t.Errorf("%s after the next pass: %q", b, got)
				}
			}
		})
	}
}

// labeledBinding creates a PoolBinding carrying labels and returns its uid.
func (e *syncEnv) labeledBinding(name, poolID, svc string, port int32, labels map[string]string) string {
	e.t.Helper()
	var ls strings.Builder
	ls.WriteString("  labels:\n")
	for k, v := range labels {
		fmt.Fprintf(&ls, "    %s: %q\n", k, v)
	}
	return e.bindingWithMeta(name, poolID, svc, port, ls.String())
}

// bindingWithMeta creates a PoolBinding with extra metadata lines
// (indented two spaces) and returns its uid.
func (e *syncEnv) bindingWithMeta(name, poolID, svc string, port int32, meta string) string {
	e.t.Helper()
	m := fmt.Sprintf(`apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: %s
  namespace: %s
%sspec:
  poolRef:
    id: %s
  targetRef:
    kind: Service
    group: cci/v2
    name: %s
    port: %d
`, name, e.ns, meta, poolID, svc, port)
	mustSucceed(e.t, ccictl(e.t, "create", "-f", writeFile(e.t, name+".yaml", m)))
	return e.jsonpath(name, "{.metadata.uid}")
}

// inNamespace is e for another namespace of the same test (same emulator).
func (e *syncEnv) inNamespace(ns string) *syncEnv {
	e.t.Helper()
	c := *e
	c.ns = newNamespace(e.t, ns)
	return &c
}

// impersonatingConfig writes a cliconfig for the test cluster whose users
// act as user (kubeconfig "as"): the admin token authenticates, RBAC then
// judges user.
func impersonatingConfig(t *testing.T, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate = user
	}
	p := filepath.Join(t.TempDir(), "cliconfig-"+user)
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// grantSyncBasics lets user read every PoolBinding and write their status
// (what any sync needs); the namespaced reads are granted per test.
func grantSyncBasics(t *testing.T, kube kubernetes.Interface, user string, extra ...rbacv1.PolicyRule) {
	t.Helper()
	grantClusterRules(t, kube, user, append([]rbacv1.PolicyRule{
		// list only, as docs/sync.md's RBAC table: the re-read before a
		// write under a lock taken for want of the controller's annotation
		// is a list of the one name.
		{APIGroups: []string{"loadbalancer.networking.openvessel.io"}, Resources: []string{"poolbindings"}, Verbs: []string{"list"}},
		{APIGroups: []string{"loadbalancer.networking.openvessel.io"}, Resources: []string{"poolbindings/status"}, Verbs: []string{"get", "update"}},
		kubeSystemGet,
	}, extra...)...)
}

// kubeSystemGet lets sync read the cluster identity of its ownership
// markers (the UID of namespace kube-system), as docs/sync.md's RBAC lists.
var kubeSystemGet = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get"}}

// grantClusterRules gives user exactly rules, cluster-wide, for the test.
func grantClusterRules(t *testing.T, kube kubernetes.Interface, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	name := "e2e-sync-" + user
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// grantEndpointReads lets user list Services, EndpointSlices and Pods in ns.
func grantEndpointReads(t *testing.T, kube kubernetes.Interface, user, ns string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-sync-reads", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list"}},
		},
	}
	if _, err := kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-sync-reads", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestSyncForbiddenNamespace: an identity that may read Services and
// EndpointSlices in two namespaces but not a third gets, with -A, the two
// synced and only the third blocked with the RBAC reason.
func TestSyncForbiddenNamespace(t *testing.T) {
	const user = "e2e-sync-limited"
	a := newSyncEnv(t, "sync-rbac-a")
	b := a.inNamespace("sync-rbac-b")
	c := a.inNamespace("sync-rbac-c")
	kube := a.kube
	grantSyncBasics(t, kube, user)
	grantEndpointReads(t, kube, user, a.ns)
	grantEndpointReads(t, kube, user, b.ns)

	pools := map[*syncEnv]string{
		a: "0a0a0a0a-0000-4000-8000-00000000000a",
		b: "0b0b0b0b-0000-4000-8000-00000000000b",
		c: "0c0c0c0c-0000-4000-8000-00000000000c",
	}
	uids := map[*syncEnv]string{}
	for env, pool := range pools {
		a.pool(pool)
		env.manualSlice("web", 123, 8080, addrs("10.44", 0, 2))
		uids[env] = env.labeledBinding("b-"+env.ns[len(env.ns)-1:], pool, "web", 123, map[string]string{"e2e": "sync-rbac"})
	}
	cfg := impersonatingConfig(t, user)
	r := runIn(t, "", a.syncEnvVars(), ccictlBin, "--cliconfig", cfg, "sync", "-A", "-l", "e2e=sync-rbac",
		"--elb-endpoint", a.url, "--project-id", syncProject)
	want := "poolbinding/b-a: +2 -0 =0 foreign=0\npoolbinding/b-b: +2 -0 =0 foreign=0\n" +
		`poolbinding/b-c: +0 -0 =0 foreign=0 blocked: EndpointsUnresolved: list services: services is forbidden: User "` + user +
		`" cannot list resource "services" in API group "" in the namespace "sync-rbac-c"` + "\n"
	if r.Code != 1 || r.Stdout != want {
		t.Errorf("want exit 1 and\n%s\ngot %s", want, r)
	}
	if !strings.Contains(r.Stderr, "listing across namespaces is forbidden") {
		t.Errorf("stderr does not say why each namespace was listed on its own:\n%s", r.Stderr)
	}
	for _, env := range []*syncEnv{a, b} {
		a.wantPool(pools[env], owned(markerOf(env.ns, "b-"+env.ns[len(env.ns)-1:], uids[env]), withPort(addrs("10.44", 0, 2), 8080)...))
		if got := env.syncedCond("b-" + env.ns[len(env.ns)-1:]); got != "True Synced 1" {
			t.Errorf("%s status: %q", env.ns, got)
		}
	}
	a.wantPool(pools[c], map[string]string{})
	if got := c.syncedCond("b-c"); got != "False EndpointsUnresolved 1" {
		t.Errorf("forbidden namespace's status: %q", got)
	}
}

// leaseLocker is a LeaseLocker on the test cluster with its own identity.
func leaseLocker(t *testing.T, kube kubernetes.Interface, id string, d time.Duration) *poollock.LeaseLocker {
	t.Helper()
	return &poollock.LeaseLocker{Leases: kube.CoordinationV1(), Identity: id, Duration: d, PollInterval: 50 * time.Millisecond}
}

func (e *syncEnv) lease(ns, poolID string) *coordinationv1.Lease {
	e.t.Helper()
	l, err := e.kube.CoordinationV1().Leases(ns).Get(e.ctx(), poollock.LeaseName(poolID), metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("Lease of pool %s: %v", poolID, err)
	}
	return l
}

// wantNoLease checks the pool's Lease is gone (a released lock deletes it).
func (e *syncEnv) wantNoLease(ns, poolID, when string) {
	e.t.Helper()
	l, err := e.kube.CoordinationV1().Leases(ns).Get(e.ctx(), poollock.LeaseName(poolID), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		e.t.Errorf("Lease of pool %s %s: %v (holder %q), want it released (deleted)", poolID, when, err, holderOf(l))
	}
}

func holderOf(l *coordinationv1.Lease) string {
	if l == nil {
		return ""
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestPoolLockLeases: the pool lock on real Leases — exclusion, Busy
// without waiting, waiting until release, renewal while held, take-over
// after a dead holder's Lease expires, loss when someone else takes it,
// and Forbidden reported once as unavailable.
func TestPoolLockLeases(t *testing.T) {
	e := newSyncEnv(t, "sync-lock-leases")
	ctx := e.ctx()
	a := leaseLocker(t, e.kube, "holder-a", 3*time.Second)
	b := leaseLocker(t, e.kube, "holder-b", 3*time.Second)

	heldA, releaseA, err := a.Lock(ctx, e.ns, syncPool)
	if err != nil {
		t.Fatal(err)
	}
	l := e.lease(e.ns, syncPool)
	if holderOf(l) != "holder-a" || l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 3 {
		t.Fatalf("Lease after A's lock: %+v", l.Spec)
	}
	// Busy at once without waiting, naming the holder.
	b.NoWait = true
	if _, _, err := b.Lock(ctx, e.ns, syncPool); !errors.Is(err, poollock.ErrBusy) || !strings.Contains(err.Error(), "holder-a") {
		t.Fatalf("B without waiting: %v, want Busy naming holder-a", err)
	}
	b.NoWait = false
	// B waits; A keeps the Lease past its duration by renewing it.
	got := make(chan error, 1)
	var releaseB func()
	go func() {
		var err error
		_, releaseB, err = b.Lock(ctx, e.ns, syncPool)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("B got the lock while A held and renewed it: %v", err)
	case <-time.After(5 * time.Second):
	}
	if heldA.Err() != nil {
		t.Fatalf("A lost its lock while renewing: %v", context.Cause(heldA))
	}
	if rt := e.lease(e.ns, syncPool).Spec.RenewTime; rt == nil || !rt.After(l.Spec.RenewTime.Time) {
		t.Errorf("A did not renew: %v then %v", l.Spec.RenewTime, rt)
	}
	releaseA()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("B did not get the lock after A released it")
	}
	if h := holderOf(e.lease(e.ns, syncPool)); h != "holder-b" {
		t.Errorf("holder after B's lock: %q", h)
	}
	releaseB()
	e.wantNoLease(e.ns, syncPool, "after the last release")

	// A dead holder (it stopped renewing): taken over once its Lease has not
	// changed for its duration.
	const pool2 = "d2d2d2d2-0000-4000-8000-0000000000d2"
	dead, two := "holder-dead", int32(2)
	now := metav1.NewMicroTime(time.Now())
	_, err = e.kube.CoordinationV1().Leases(e.ns).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: poollock.LeaseName(pool2), Namespace: e.ns},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &dead, LeaseDurationSeconds: &two, RenewTime: &now, AcquireTime: &now},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, releaseA, err = a.Lock(ctx, e.ns, pool2)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("took over a dead holder's Lease after %v, want its 2s duration", d)
	}
	if l := e.lease(e.ns, pool2); holderOf(l) != "holder-a" || l.Spec.LeaseTransitions == nil || *l.Spec.LeaseTransitions != 1 {
		t.Errorf("Lease after the take-over: %+v", l.Spec)
	}

	// Someone else writes the Lease while A holds it: A's work is canceled.
	heldA2 := func() context.Context {
		releaseA()
		h, r, err := a.Lock(ctx, e.ns, pool2)
		if err != nil {
			t.Fatal(err)
		}
		releaseA = r
		return h
	}()
	l = e.lease(e.ns, pool2)
	thief := "holder-thief"
	l.Spec.HolderIdentity = &thief
	if _, err := e.kube.CoordinationV1().Leases(e.ns).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heldA2.Done():
		if !errors.Is(context.Cause(heldA2), poollock.ErrLost) {
			t.Errorf("cause %v, want ErrLost", context.Cause(heldA2))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("A kept working after its Lease was taken")
	}
	releaseA()
	if h := holderOf(e.lease(e.ns, pool2)); h != thief {
		t.Errorf("A's release overwrote the new holder: %q", h)
	}

	// Forbidden: unavailable, reported once.
	const user = "e2e-lock-forbidden"
	grantSyncBasics(t, e.kube, user)
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Impersonate.UserName = user
	limited, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	f := leaseLocker(t, limited, "holder-f", 3*time.Second)
	f.OnUnavailable = func(error) { calls++ }
	for range 2 {
		if _, _, err := f.Lock(ctx, e.ns, syncPool); !errors.Is(err, poollock.ErrUnavailable) || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("forbidden Leases: %v, want unavailable with the reason", err)
		}
	}
	if calls != 1 {
		t.Errorf("OnUnavailable called %d times, want once", calls)
	}
}

// waitCount waits until the emulator counted at least n calls of op.
func (e *syncEnv) waitCount(op string, n int, what string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.emu.Counts()[op] < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: the emulator never saw %d %s call(s): %v", what, n, op, e.emu.Counts())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitCmd(t *testing.T, cmd *exec.Cmd, out, errb *bytes.Buffer) result {
	t.Helper()
	_ = cmd.Wait()
	return result{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
}

// TestSyncOverlappingPassesLocked: pass 1 plans to remove endpoint E (not
// ready); E becomes ready; pass 2 starts while pass 1 is still writing. Pass
// 2 waits for the pool's Lease, reads the pool after pass 1's removal and
// puts E back: E is in the pool when both have exited 0. With
// --no-wait-lock a pass reports Busy, changes nothing and exits 1.
func TestSyncOverlappingPassesLocked(t *testing.T) {
	e := newSyncEnv(t, "sync-lock-overlap")
	e.pool(syncPool)
	all := addrs("10.45", 0, 3)
	e.manualSlice("web", 123, 8080, all)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	mustSucceed(t, e.sync())

	e.manualSlice("web", 123, 8080, all[:2]) // E = all[2] not ready
	e.emu.SetLatency(time.Second)
	e.emu.ResetCounts()
	var out1, err1, out2, err2, out3, err3 bytes.Buffer
	p1 := e.start(&out1, &err1)
	e.waitCount(elbemulator.OpGetPool, 1, "pass 1")
	// Pass 1 holds the Lease now (it is taken before the pool is read).
	if h := holderOf(e.lease(e.ns, syncPool)); h == "" {
		t.Fatal("pass 1 reads the pool without holding its Lease")
	}
	e.manualSlice("web", 123, 8080, all) // E ready again
	p2 := e.start(&out2, &err2)
	busy := waitCmd(t, e.start(&out3, &err3, "--no-wait-lock"), &out3, &err3)
	r1 := waitCmd(t, p1, &out1, &err1)
	r2 := waitCmd(t, p2, &out2, &err2)
	e.emu.SetLatency(0)

	wantLine(t, r1, 0, "poolbinding/b1: +0 -1 =2 foreign=0")
	wantLine(t, r2, 0, "poolbinding/b1: +1 -0 =2 foreign=0")
	if busy.Code != 1 || !strings.Contains(busy.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: Busy: pool is locked by ccictl/") {
		t.Errorf("--no-wait-lock while pass 1 holds the pool: %s", busy)
	}
	e.wantPool(syncPool, owned(marker, withPort(all, 8080)...))
	e.wantNoLease(e.ns, syncPool, "after both passes")
	if got := e.syncedCond("b1"); got != "True Synced 1" {
		t.Errorf("status: %q", got)
	}
}

// TestSyncLockUnavailableFallback: an identity that may not use Leases gets
// one warning, and each removal is re-checked right before it is made: an
// endpoint that became ready again during the pass keeps its member.
func TestSyncLockUnavailableFallback(t *testing.T) {
	const user = "e2e-sync-nolease"
	e := newSyncEnv(t, "sync-lock-fallback")
	grantSyncBasics(t, e.kube, user)
	grantEndpointReads(t, e.kube, user, e.ns)
	e.pool(syncPool)
	all := addrs("10.46", 0, 4)
	e.manualSlice("web", 123, 8080, all[:3])
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	mustSucceed(t, e.sync())

	// Pass plans: add all[3], remove all[2]. While its add is in flight,
	// all[2] becomes ready again.
	e.manualSlice("web", 123, 8080, []string{all[0], all[1], all[3]})
	e.config = impersonatingConfig(t, user)
	e.emu.SetLatency(time.Second)
	e.emu.ResetCounts()
	var out, errb bytes.Buffer
	p := e.start(&out, &errb)
	e.waitCount(elbemulator.OpListMembers, 1, "pass")
	e.manualSlice("web", 123, 8080, all)
	r := waitCmd(t, p, &out, &errb)
	e.emu.SetLatency(0)

	want := "poolbinding/b1: +1 -0 =2 foreign=0"
	if r.Code != 0 || r.Stdout != want+"\n" {
		t.Errorf("want exit 0 and %q, got %s", want, r)
	}
	if n := strings.Count(r.Stderr, "pool locks (coordination.k8s.io/v1 Leases) are unavailable"); n != 1 || !strings.Contains(r.Stderr, "forbidden") {
		t.Errorf("want one warning with the RBAC reason, got %d:\n%s", n, r.Stderr)
	}
	e.wantPool(syncPool, owned(marker, withPort(all, 8080)...))
	// The re-check cost one more member list, and only because there was a
	// removal to check.
	e.wantCalls(1, 2, 1, 0)
	if msg := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].message}`); !strings.Contains(msg, "1 removal(s) dropped") {
		t.Errorf("status message does not say a removal was dropped: %q", msg)
	}
}

// TestSyncSpecChanged: a binding whose generation changes during the pass
// (here: deleted while a finalizer holds it, which bumps the generation; the
// spec itself is immutable) gets Synced=False SpecChanged with the
// generation the pass used, and the pass exits 1. A binding deleted and
// re-created under the same name during the pass gets no status from it.
func TestSyncSpecChanged(t *testing.T) {
	e := newSyncEnv(t, "sync-spec-changed")
	e.pool(syncPool)
	const pool2 = "e2e2e2e2-0000-4000-8000-0000000000e2"
	e.pool(pool2)
	e.manualSlice("web", 123, 8080, addrs("10.47", 0, 2))
	const finalizer = "e2e.openvessel.io/hold"
	e.bindingWithMeta("b1", syncPool, "web", 123, "  finalizers:\n  - "+finalizer+"\n")
	t.Cleanup(func() {
		kubectl(t, "patch", "poolbindings.loadbalancer.networking.openvessel.io", "b1", "-n", e.ns, "--type=json", `-p=[{"op":"remove","path":"/metadata/finalizers"}]`)
	})

	e.emu.SetLatency(time.Second)
	var out, errb bytes.Buffer
	p := e.start(&out, &errb)
	e.waitCount(elbemulator.OpGetPool, 1, "pass")
	mustSucceed(t, ccictl(t, "delete", "plb", "b1", "-n", e.ns, "--wait=false"))
	r := waitCmd(t, p, &out, &errb)
	e.emu.SetLatency(0)
	if gen := e.jsonpath("b1", "{.metadata.generation}"); gen != "2" {
		t.Fatalf("generation after the delete: %s; the test needs it bumped", gen)
	}
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: +2 -0 =0 foreign=0 failed: SpecChanged: the binding changed during the pass (generation 1, now 2)") {
		t.Errorf("want exit 1 and SpecChanged, got %s", r)
	}
	if got := e.syncedCond("b1"); got != "False SpecChanged 1" {
		t.Errorf("status: %q, want \"False SpecChanged 1\" (observedGeneration is the one the pass synced)", got)
	}
	if g := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].observedGeneration}`); g != "1" {
		t.Errorf("condition observedGeneration %s", g)
	}

	// Re-created under the same name, on another pool, during the pass.
	e.manualSlice("web", 123, 8080, addrs("10.47", 0, 3))
	e.binding("b2", syncPool, "web", 123)
	e.emu.SetLatency(time.Second)
	e.emu.ResetCounts()
	out.Reset()
	errb.Reset()
	p = e.start(&out, &errb, "b2")
	e.waitCount(elbemulator.OpGetPool, 1, "pass")
	mustSucceed(t, ccictl(t, "delete", "plb", "b2", "-n", e.ns))
	e.binding("b2", pool2, "web", 123)
	r = waitCmd(t, p, &out, &errb)
	e.emu.SetLatency(0)
	if r.Code != 1 || !strings.Contains(r.Stdout, "failed: SpecChanged: the PoolBinding was deleted and re-created during the pass") {
		t.Errorf("re-created during the pass: want exit 1 and SpecChanged, got %s", r)
	}
	if st := e.jsonpath("b2", "{.status}"); st != "" {
		t.Errorf("the new b2 got a status from a pass that synced the old one: %s", st)
	}
	if n := len(e.members(pool2)); n != 0 {
		t.Errorf("the new b2's pool was changed by the old pass: %d members", n)
	}
}

// TestSyncStatusNotWrittenExits1: an identity that may sync but not write
// PoolBinding status gets its members synced, a warning naming the binding,
// and exit 1: the status may still say Synced=True from an earlier pass
// (here it says nothing at all), and a pipeline that waits on it must not
// be told the pass succeeded. With --no-status the same pass exits 0. The
// identity cannot read kube-system either: the cluster identity is derived
// from the endpoint, and a later --cluster-id re-marks the members.
func TestSyncStatusNotWrittenExits1(t *testing.T) {
	const user = "e2e-sync-nostatus"
	e := newSyncEnv(t, "sync-nostatus")
	grantClusterRules(t, e.kube, user,
		rbacv1.PolicyRule{APIGroups: []string{"loadbalancer.networking.openvessel.io"}, Resources: []string{"poolbindings"}, Verbs: []string{"get", "list"}})
	grantEndpointReads(t, e.kube, user, e.ns)
	e.pool(syncPool)
	e.manualSlice("web", 123, 8080, addrs("10.45", 0, 2))
	uid := e.binding("b1", syncPool, "web", 123)
	cfg := impersonatingConfig(t, user)
	args := []string{"--cliconfig", cfg, "sync", "-n", e.ns, "--elb-endpoint", e.url, "--project-id", syncProject}
	// This identity may not read namespace kube-system, the default
	// cluster identity of the ownership markers: the identity is derived
	// from the endpoint instead (no IAM project with a token), as on CCI
	// 2.0.
	r := runIn(t, "", e.syncEnvVars(), ccictlBin, args...)
	if r.Code != 1 || r.Stdout != "poolbinding/b1: +2 -0 =0 foreign=0\n" {
		t.Errorf("want exit 1 and the synced line, got %s", r)
	}
	for _, want := range []string{
		"Warning: status not written for 1 PoolBinding(s) (" + e.ns + "/b1)",
		"poolbindings/status",
		"error: the status of 1 PoolBinding(s) was not written and may be stale (pass --no-status where status writes are not wanted)",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	derived := "ccictl:" + bindingsource.DerivedClusterID(cluster.Server, "") + ":" + e.ns + "/b1:" + uid
	e.wantPool(syncPool, owned(derived, withPort(addrs("10.45", 0, 2), 8080)...))
	if got := e.syncedCond("b1"); got != "  " {
		t.Errorf("status written by an identity without the right: %q", got)
	}
	// With --cluster-id the same members are re-marked, none removed.
	args = append(args, "--cluster-id", testClusterID())
	r = runIn(t, "", e.syncEnvVars(), ccictlBin, append(args, "--no-status")...)
	if r.Code != 0 || r.Stdout != "poolbinding/b1: +0 -0 =2 foreign=0 remarked=2\n" || strings.Contains(r.Stderr, "status not written") {
		t.Errorf("--no-status: want exit 0, re-marked, no status warning; got %s", r)
	}
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), withPort(addrs("10.45", 0, 2), 8080)...))
}

// TestSyncLockNamespace: --lock-namespace puts every pool's Lease in that
// namespace (a holder there makes a --no-wait-lock pass Busy), and a
// namespace that does not exist is an error of the pass (exit 1, nothing
// written), not a silent fall-back to syncing without locks.
func TestSyncLockNamespace(t *testing.T) {
	e := newSyncEnv(t, "sync-lockns")
	locks := newNamespace(t, "sync-lockns-locks")
	e.pool(syncPool)
	e.manualSlice("web", 123, 8080, addrs("10.47", 0, 2))
	uid := e.binding("b1", syncPool, "web", 123)

	other := leaseLocker(t, e.kube, "holder-elsewhere", 30*time.Second)
	other.Namespace = locks
	_, release, err := other.Lock(context.Background(), "unused", syncPool)
	if err != nil {
		t.Fatal(err)
	}
	r := e.sync("--lock-namespace", locks, "--no-wait-lock")
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: Busy: pool is locked by holder-elsewhere (Lease "+locks+"/ccictl-pool-"+syncPool) {
		t.Errorf("holder in --lock-namespace: want Busy, got %s", r)
	}
	e.wantPool(syncPool, map[string]string{})
	release()

	e.emu.ResetCounts()
	r = e.sync("--lock-namespace", "no-such-namespace")
	if r.Code != 1 || !strings.Contains(r.Stdout, "the lock namespace does not exist: Lease no-such-namespace/ccictl-pool-"+syncPool) ||
		strings.Contains(r.Stderr, "unavailable") {
		t.Errorf("missing --lock-namespace: want exit 1 naming it and no fall-back, got %s", r)
	}
	e.wantCalls(0, 0, 0, 0)
	e.wantPool(syncPool, map[string]string{})

	wantLine(t, e.sync("--lock-namespace", locks), 0, "poolbinding/b1: +2 -0 =0 foreign=0")
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), withPort(addrs("10.47", 0, 2), 8080)...))
	e.wantNoLease(locks, syncPool, "after the pass")
}
