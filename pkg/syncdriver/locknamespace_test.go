package syncdriver

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

type recordingLocker struct{ got []string }

func (l *recordingLocker) Lock(ctx context.Context, ns, pool string) (context.Context, func(), error) {
	l.got = append(l.got, ns+"/"+pool)
	return ctx, func() {}, nil
}

func lockTarget(ns, name, pool, advertised string) poolsync.Target {
	b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	b.Spec.PoolRef.ID = pool
	if advertised != "" {
		b.Annotations = map[string]string{lbv1.LockNamespaceAnnotation: advertised}
	}
	return poolsync.Target{Binding: b}
}

// A pass without --lock-namespace locks where the binding's controller
// says, else in the binding's namespace; an explicit namespace elsewhere is
// a warning.
func TestAdvertisedLocks(t *testing.T) {
	targets := []poolsync.Target{
		lockTarget("shop", "a", "pool-1", "ccictl-system"),
		lockTarget("shop", "b", "pool-2", ""),
		lockTarget("shop", "c", "pool-3", "ops"),
		lockTarget("web", "d", "pool-3", "ccictl-system"),
	}
	rec := &recordingLocker{}
	l, warnings := newAdvertisedLocks(rec, targets, func(string) bool { return false }, nil)
	for _, t := range targets {
		_, _, _ = l.Lock(context.Background(), t.Binding.Namespace, t.Binding.Spec.PoolRef.ID)
	}
	want := "ccictl-system/pool-1 shop/pool-2 ops/pool-3 ops/pool-3"
	if got := strings.Join(rec.got, " "); got != want {
		t.Errorf("locks taken %s, want %s", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "poolbinding web/d") || !strings.Contains(warnings[0], "takes the lock in ops") {
		t.Errorf("warnings %q, want one for web/d naming ops", warnings)
	}
	if w := lockWarnings("ccictl-system", targets); len(w) != 1 || !strings.Contains(w[0], "poolbinding shop/c") {
		t.Errorf("--lock-namespace=ccictl-system: warnings %q, want one for shop/c", w)
	}
}

// An advertised namespace that no longer exists (the controller was
// removed with its namespace) is ignored with a warning: the pass locks in
// the binding's namespace, not in a namespace where no Lease can be
// created, which would leave it without locks.
func TestAdvertisedLocksNamespaceGone(t *testing.T) {
	targets := []poolsync.Target{
		lockTarget("shop", "a", "pool-1", "ccictl-system"),
		lockTarget("shop", "b", "pool-2", "ccictl-system"),
		lockTarget("web", "c", "pool-3", "ops"),
	}
	rec := &recordingLocker{}
	l, warnings := newAdvertisedLocks(rec, targets, func(ns string) bool { return ns == "ccictl-system" }, nil)
	for _, t := range targets {
		_, _, _ = l.Lock(context.Background(), t.Binding.Namespace, t.Binding.Spec.PoolRef.ID)
	}
	want := "shop/pool-1 shop/pool-2 ops/pool-3"
	if got := strings.Join(rec.got, " "); got != want {
		t.Errorf("locks taken %s, want %s", got, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ccictl-system names a namespace that does not exist") {
		t.Errorf("warnings %q, want one saying ccictl-system does not exist", warnings)
	}
}

// unavailableIn fails every Lock in namespace ns as unavailable (no
// rights there, as RBAC answers), and records the others.
type unavailableIn struct {
	recordingLocker
	ns string
}

func (l *unavailableIn) Lock(ctx context.Context, ns, pool string) (context.Context, func(), error) {
	if ns == l.ns {
		return nil, nil, &poollock.UnavailableError{Err: errors.New(`leases.coordination.k8s.io is forbidden in namespace ` + ns)}
	}
	return l.recordingLocker.Lock(ctx, ns, pool)
}

// Where the advertised namespace's Leases cannot be taken (forbidden),
// the pass does not write the pool: a lock taken anywhere else would not
// take turns with the controller. The error says what to grant.
func TestAdvertisedLocksUnavailableThere(t *testing.T) {
	targets := []poolsync.Target{lockTarget("shop", "a", "pool-1", "ccictl-system")}
	rec := &unavailableIn{ns: "ccictl-system"}
	l, _ := newAdvertisedLocks(rec, targets, func(string) bool { return false }, nil)
	_, _, err := l.Lock(context.Background(), "shop", "pool-1")
	if err == nil || errors.Is(err, poollock.ErrUnavailable) ||
		!strings.Contains(err.Error(), "takes pool pool-1's lock in namespace ccictl-system") || !strings.Contains(err.Error(), "ccictl-sync-pool-locks") {
		t.Fatalf("Lock: %v, want an error (not ErrUnavailable, which would let the pass write) naming the namespace and the Role", err)
	}
	if len(rec.got) != 0 {
		t.Errorf("locks taken %q, want none", rec.got)
	}
}

// releasingLocker records locks and releases.
type releasingLocker struct{ got []string }

func (l *releasingLocker) Lock(ctx context.Context, ns, pool string) (context.Context, func(), error) {
	l.got = append(l.got, "lock "+ns+"/"+pool)
	return ctx, func() { l.got = append(l.got, "release "+ns+"/"+pool) }, nil
}

// A binding the controller advertised its lock namespace on after the
// pass listed it: before the first write under the lock taken in the
// binding's namespace, the pass reads the pool's bindings again, and does
// not write (Busy) if one advertises a namespace now. Bindings that still
// advertise nothing write; a pass that writes nothing reads nothing.
func TestAdvertisedLocksSeeALateAdvertisement(t *testing.T) {
	targets := []poolsync.Target{
		lockTarget("shop", "a", "pool-1", ""),
		lockTarget("shop", "b", "pool-2", ""),
		lockTarget("shop", "c", "pool-3", "ccictl-system"),
		lockTarget("shop", "d", "pool-4", ""),
	}
	var read []string
	now := map[string]string{"shop/a": "ccictl-system"}
	rec := &recordingLocker{}
	l, _ := newAdvertisedLocks(rec, targets, func(string) bool { return false }, func(_ context.Context, ns, name string) (string, error) {
		read = append(read, ns+"/"+name)
		return now[ns+"/"+name], nil
	})
	confirmed := map[string]error{}
	for _, tg := range targets {
		held, _, err := l.Lock(context.Background(), tg.Binding.Namespace, tg.Binding.Spec.PoolRef.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tg.Binding.Name != "d" { // d has nothing to write
			confirmed[tg.Binding.Name] = poollock.Confirm(held)
			if again := poollock.Confirm(held); (again == nil) != (confirmed[tg.Binding.Name] == nil) {
				t.Errorf("%s: a second Confirm answered %v after %v", tg.Binding.Name, again, confirmed[tg.Binding.Name])
			}
		}
	}
	if got := strings.Join(rec.got, " "); got != "shop/pool-1 shop/pool-2 ccictl-system/pool-3 shop/pool-4" {
		t.Errorf("locks taken %s", got)
	}
	if err := confirmed["a"]; !errors.Is(err, poollock.ErrBusy) || !strings.Contains(err.Error(), "annotated poolbinding shop/a") {
		t.Errorf("a, advertised meanwhile: Confirm %v, want Busy naming the binding", err)
	}
	if confirmed["b"] != nil || confirmed["c"] != nil {
		t.Errorf("b (no advertisement) and c (locked where advertised): Confirm %v, %v, want nil", confirmed["b"], confirmed["c"])
	}
	if got := strings.Join(read, ","); got != "shop/a,shop/b" {
		t.Errorf("bindings re-read %s, want shop/a,shop/b (each once; not c, locked where advertised; not d, nothing to write)", got)
	}
	// A failed re-read is not a Busy: the pass cannot know where the
	// controller locks, and says so.
	l, _ = newAdvertisedLocks(rec, targets[1:2], func(string) bool { return false }, func(context.Context, string, string) (string, error) {
		return "", errors.New("connection refused")
	})
	held, _, err := l.Lock(context.Background(), "shop", "pool-2")
	if err != nil {
		t.Fatal(err)
	}
	if err := poollock.Confirm(held); err == nil || errors.Is(err, poollock.ErrBusy) || !strings.Contains(err.Error(), "re-reading poolbinding shop/b") {
		t.Errorf("Confirm with a failing re-read: %v, want an error naming the binding", err)
	}
}

// A binding the pass did not select but whose pool it writes counts too:
// where the controller advertises its lock on that one, the pass locks
// there; where it may still advertise it, the pass re-reads it before its
// first write.
func TestAdvertisedLocksSeeUnselectedBindingsOfThePool(t *testing.T) {
	u := func(tg poolsync.Target) unstructured.Unstructured {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tg.Binding)
		if err != nil {
			t.Fatal(err)
		}
		return unstructured.Unstructured{Object: obj}
	}
	a := lockTarget("shop", "a", "pool-1", "")
	b := lockTarget("shop", "b", "pool-1", "ccictl-system") // the controller's, not selected
	c := lockTarget("shop", "c", "pool-2", "")
	d := lockTarget("shop", "d", "pool-2", "") // not selected, not yet advertised
	e := lockTarget("shop", "e", "pool-9", "ops")
	all := []unstructured.Unstructured{u(a), u(b), u(c), u(d), u(e)}
	selected := []*unstructured.Unstructured{&all[0], &all[2]}
	targets := []poolsync.Target{a, c}

	peers := poolPeers(all, selected, targets)
	var names []string
	for _, p := range peers {
		names = append(names, p.Binding.Name)
	}
	if got := strings.Join(names, " "); got != "b d" {
		t.Fatalf("pool peers %q, want b d (not the selected ones, not another pool's)", got)
	}

	rec := &recordingLocker{}
	reread := map[string]string{"d": "ccictl-system"} // advertised after the pass read it
	l, _ := newAdvertisedLocks(rec, append(targets, peers...), func(string) bool { return false },
		func(_ context.Context, _, name string) (string, error) { return reread[name], nil })
	if _, _, err := l.Lock(context.Background(), "shop", "pool-1"); err != nil {
		t.Fatal(err)
	}
	held, _, err := l.Lock(context.Background(), "shop", "pool-2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rec.got, " "); got != "ccictl-system/pool-1 shop/pool-2" {
		t.Errorf("locks taken %s, want pool-1's where its other binding advertises it", got)
	}
	if err := poollock.Confirm(held); !errors.Is(err, poollock.ErrBusy) || !strings.Contains(err.Error(), "poolbinding shop/d") {
		t.Errorf("confirm before writing pool-2: %v, want Busy naming shop/d", err)
	}
}
