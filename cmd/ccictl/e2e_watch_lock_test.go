package main_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// One-shot `ccictl sync` and the controller take the same pool lock by
// default: the controller, deployed with --lock-namespace (as deploy/
// does), says on each binding where it takes the lock, and a one-shot
// pass without the flag takes it there too — Busy while another writer
// holds it there, and it names the Lease it waited for.
func TestSyncOneShotTakesTheControllersPoolLock(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-lock")
	locks := newNamespace(t, "e2e-watch-lock-system")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.68.0.1"))
	uid := e.binding("b1", syncPool, "web", 80)
	e.waitSlices("web", "10.68.0.1:8080")

	w := e.watch("--lock-namespace", locks, "--coalesce=100ms", "--resync-period=1h")
	eventually(t, 30*time.Second, "controller's first pass", func() bool {
		return e.members(syncPool)["10.68.0.1:8080"] == markerOf(e.ns, "b1", uid)
	}, w.logged)
	if got := e.jsonpath("b1", "{.metadata.annotations.loadbalancer\\.networking\\.openvessel\\.io/lock-namespace}"); got != locks {
		t.Fatalf("annotation %s = %q, want %q (the controller's lock namespace)", lbv1.LockNamespaceAnnotation, got, locks)
	}
	if err, _ := w.stop(); err != nil {
		t.Fatal(err)
	}

	// Another writer holds the pool's lock where the controller takes it.
	holder := leaseLocker(t, e.kube, "holder-controller", 15*time.Second)
	_, release, err := holder.Lock(context.Background(), locks, syncPool)
	if err != nil {
		t.Fatal(err)
	}
	r := e.sync("--no-wait-lock")
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: Busy: pool is locked by holder-controller (Lease "+locks+"/ccictl-pool-"+syncPool) {
		t.Errorf("one-shot pass while the controller's lock is held: want Busy naming %s/ccictl-pool-%s, got %s", locks, syncPool, r)
	}

	// Waiting, it says for which Lease, and goes on once it is released.
	var out, errb bytes.Buffer
	cmd := e.start(&out, &errb)
	time.Sleep(2 * time.Second)
	release()
	res := waitCmd(t, cmd, &out, &errb)
	if res.Code != 0 || !strings.Contains(res.Stderr, "Waiting for pool lock "+locks+"/ccictl-pool-"+syncPool+" (Lease held by holder-controller)") {
		t.Errorf("one-shot pass waiting for the controller's lock: want exit 0 and the Lease named, got %s", res)
	}

	// An explicit --lock-namespace elsewhere is a warning.
	r = e.sync("--lock-namespace", e.ns)
	if !strings.Contains(r.Stderr, "the controller takes pool "+syncPool+"'s lock in namespace "+locks) {
		t.Errorf("--lock-namespace other than the controller's: want a warning, got %s", r)
	}
}

// A binding still names the lock namespace of a controller that was
// removed with its namespace: a one-shot pass takes the pool's lock in the
// binding's namespace, as without the annotation — not a pass without
// locks because no Lease can be created in a namespace that is gone.
func TestSyncOneShotLockNamespaceGone(t *testing.T) {
	e := newSyncEnv(t, "e2e-lock-gone")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.69.0.1"))
	e.binding("b1", syncPool, "web", 80)
	e.waitSlices("web", "10.69.0.1:8080")
	e.annotate("b1", lbv1.LockNamespaceAnnotation, "e2e-lock-gone-system")

	holder := leaseLocker(t, e.kube, "holder-ci", 15*time.Second)
	_, release, err := holder.Lock(context.Background(), e.ns, syncPool)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	r := e.sync("--no-wait-lock")
	if r.Code != 1 || !strings.Contains(r.Stdout, "Busy: pool is locked by holder-ci (Lease "+e.ns+"/ccictl-pool-"+syncPool) ||
		!strings.Contains(r.Stderr, "e2e-lock-gone-system names a namespace that does not exist") {
		t.Errorf("one-shot pass, annotation naming a namespace that is gone, the lock held in the binding's namespace: want Busy there and a warning, got %s", r)
	}
	if got := e.members(syncPool); len(got) != 0 {
		t.Errorf("pool %v: the pass wrote while another writer held the pool's lock", got)
	}
}

// A one-shot pass that listed a binding before the controller advertised
// its lock namespace holds the pool's lock in the binding's namespace. The
// controller, advertising after that, must not write the pool until that
// pass is done: its first Lock of the pool for the binding reads the
// binding namespace's Lease too.
func TestSyncWatchWaitsForAPassThatLockedBeforeTheAdvertisement(t *testing.T) {
	e := newSyncEnv(t, "e2e-lock-before")
	locks := newNamespace(t, "e2e-lock-before-system")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.70.0.1"))
	uid := e.binding("b1", syncPool, "web", 80)
	e.waitSlices("web", "10.70.0.1:8080")

	// The pass's lock, where a pass without an advertisement takes it.
	pass := leaseLocker(t, e.kube, "holder-ci", 15*time.Second)
	_, release, err := pass.Lock(context.Background(), e.ns, syncPool)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()

	w := e.watch("--lock-namespace", locks, "--coalesce=100ms", "--resync-period=1h")
	eventually(t, 30*time.Second, "the controller's advertisement", func() bool {
		return e.jsonpath("b1", "{.metadata.annotations.loadbalancer\\.networking\\.openvessel\\.io/lock-namespace}") == locks
	}, w.logged)
	// Long enough for a controller that did not look to have written (its
	// first pass takes well under a second here), and for one Busy retry.
	time.Sleep(5 * time.Second)
	if got := e.members(syncPool); len(got) != 0 {
		t.Fatalf("pool %v: the controller wrote while a one-shot pass held the pool's lock in %s\n%s", got, e.ns, w.logged())
	}
	if log := w.logged(); !strings.Contains(log, "Busy: pool is locked by holder-ci (Lease "+e.ns+"/ccictl-pool-"+syncPool) {
		t.Errorf("controller's log while the pass holds the lock: want Busy naming the Lease in %s\n%s", e.ns, log)
	}
	release()
	released = true
	eventually(t, 30*time.Second, "the controller's pass once the one-shot lock is released", func() bool {
		return e.members(syncPool)["10.70.0.1:8080"] == markerOf(e.ns, "b1", uid)
	}, w.logged)
	if err, _ := w.stop(); err != nil {
		t.Fatal(err)
	}
}

// The mirror image: a one-shot pass listed a binding with no annotation and
// waits for its pool's lock in the binding's namespace; meanwhile the
// controller annotates the binding (and goes on under its own lock). Once
// the pass holds the lock it reads the binding again before writing, and
// writes nothing: Busy, exit 1.
func TestSyncOneShotSeesAnAdvertisementMadeWhileItWaited(t *testing.T) {
	e := newSyncEnv(t, "e2e-lock-late")
	locks := newNamespace(t, "e2e-lock-late-system")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.71.0.1"))
	e.binding("b1", syncPool, "web", 80)
	e.waitSlices("web", "10.71.0.1:8080")

	other := leaseLocker(t, e.kube, "holder-ci", 15*time.Second)
	_, release, err := other.Lock(context.Background(), e.ns, syncPool)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := e.start(&out, &errb)
	eventually(t, 30*time.Second, "the pass waiting for the lock in the binding's namespace", func() bool {
		return strings.Contains(errb.String(), "Waiting for pool lock "+e.ns+"/ccictl-pool-"+syncPool)
	}, func() string { return errb.String() })
	e.annotate("b1", lbv1.LockNamespaceAnnotation, locks)
	release()
	res := waitCmd(t, cmd, &out, &errb)
	if res.Code != 1 || !strings.Contains(res.Stdout, "blocked: Busy") || !strings.Contains(res.Stdout, "annotated poolbinding "+e.ns+"/b1") {
		t.Errorf("pass that waited while the controller annotated the binding: want Busy naming the annotation and exit 1, got %s", res)
	}
	if got := e.members(syncPool); len(got) != 0 {
		t.Errorf("pool %v: the pass wrote under a lock the controller does not take", got)
	}
}

// With exactly the RBAC docs/sync.md lists (PoolBindings: list only), a
// pass that writes under a lock taken in the binding's namespace (no
// controller annotated it) can re-read the binding before its write.
func TestSyncOneShotReReadNeedsOnlyList(t *testing.T) {
	const user = "e2e-sync-reread"
	e := newSyncEnv(t, "e2e-lock-reread")
	grantSyncBasics(t, e.kube, user)
	grantEndpointReads(t, e.kube, user, e.ns)
	grantNamespaceLeases(t, e.kube, user, e.ns)
	e.pool(syncPool)
	e.manualSlice("web", 123, 8080, []string{"10.72.0.1"})
	uid := e.binding("b1", syncPool, "web", 123)
	e.config = impersonatingConfig(t, user)
	r := e.sync()
	if r.Code != 0 || r.Stdout != "poolbinding/b1: +1 -0 =0 foreign=0\n" || strings.Contains(r.Stderr, "unavailable") {
		t.Fatalf("least-privilege pass writing under its lock: want exit 0, one member added, locks taken; got %s", r)
	}
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), "10.72.0.1:8080"))
}

// grantNamespaceLeases lets user take pool locks in ns, as docs/sync.md's
// RBAC lists.
func grantNamespaceLeases(t *testing.T, kube kubernetes.Interface, user, ns string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-sync-leases", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update", "delete"}}},
	}
	if _, err := kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-sync-leases", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: user}},
	}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
