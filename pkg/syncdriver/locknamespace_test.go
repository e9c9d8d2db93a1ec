package syncdriver

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/reconcile"
)

type recordingLocker struct{ got []string }

func (l *recordingLocker) Lock(ctx context.Context, ns, pool string) (context.Context, func(), error) {
	l.got = append(l.got, ns+"/"+pool)
	return ctx, func() {}, nil
}

func lockTarget(ns, name, pool, advertised string) reconcile.Target {
	b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	b.Spec.PoolRef.ID = pool
	if advertised != "" {
		b.Annotations = map[string]string{lbv1.LockNamespaceAnnotation: advertised}
	}
	return reconcile.Target{Binding: b}
}

// A pass without --lock-namespace locks where the binding's controller
// says, else in the binding's namespace; an explicit namespace elsewhere is
// a warning.
func TestAdvertisedLocks(t *testing.T) {
	targets := []reconcile.Target{
		lockTarget("shop", "a", "pool-1", "ccictl-system"),
		lockTarget("shop", "b", "pool-2", ""),
		lockTarget("shop", "c", "pool-3", "ops"),
		lockTarget("web", "d", "pool-3", "ccictl-system"),
	}
	rec := &recordingLocker{}
	l, warnings := newAdvertisedLocks(rec, targets, func(string) bool { return false })
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
	targets := []reconcile.Target{
		lockTarget("shop", "a", "pool-1", "ccictl-system"),
		lockTarget("shop", "b", "pool-2", "ccictl-system"),
		lockTarget("web", "c", "pool-3", "ops"),
	}
	rec := &recordingLocker{}
	l, warnings := newAdvertisedLocks(rec, targets, func(ns string) bool { return ns == "ccictl-system" })
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

// Where the advertised namespace's Leases cannot be taken (forbidden, or
// the namespace gone without the pass being allowed to see it), the pass
// locks in the binding's namespace, with a warning, rather than without
// any lock.
func TestAdvertisedLocksUnavailableThere(t *testing.T) {
	targets := []reconcile.Target{lockTarget("shop", "a", "pool-1", "ccictl-system")}
	rec := &unavailableIn{ns: "ccictl-system"}
	l, _ := newAdvertisedLocks(rec, targets, func(string) bool { return false })
	var warned []string
	l.warn = func(s string) { warned = append(warned, s) }
	for range 2 {
		if _, _, err := l.Lock(context.Background(), "shop", "pool-1"); err != nil {
			t.Fatalf("Lock: %v, want the lock taken in the binding's namespace", err)
		}
	}
	if got := strings.Join(rec.got, " "); got != "shop/pool-1 shop/pool-1" {
		t.Errorf("locks taken %s, want shop/pool-1 twice", got)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "takes it in namespace shop") {
		t.Errorf("warnings %q, want one naming the namespace the pass locks in", warned)
	}
}
