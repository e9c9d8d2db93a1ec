package syncdriver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/reconcile"
)

// advertisedLocks takes each pool's lock where the controller of `sync
// --watch` takes it: the namespace its bindings carry in
// lbv1.LockNamespaceAnnotation (written by the controller), else the
// binding's own namespace (where a controller without --lock-namespace
// takes it too). Only without --lock-namespace: an explicit namespace
// wins (see lockWarnings).
type advertisedLocks struct {
	poollock.Locker
	byPool map[string]string // pool ID → advertised lock namespace
	warn   func(string)      // a lock taken elsewhere than advertised

	mu       sync.Mutex
	fellBack map[string]bool // pools warned of
}

// newAdvertisedLocks reads the advertised namespaces of targets' pools.
// Bindings of one pool that name different namespaces (controllers with
// different --lock-namespace) are a warning; the first by name wins. A
// namespace that gone says does not exist (the controller was removed
// with it) is a warning and ignored: no controller locks there, and
// Leases cannot be created there, which would leave the pass without
// locks.
func newAdvertisedLocks(l poollock.Locker, targets []reconcile.Target, gone func(namespace string) bool) (*advertisedLocks, []string) {
	a := &advertisedLocks{Locker: l, byPool: map[string]string{}, fellBack: map[string]bool{}}
	byName := append([]reconcile.Target(nil), targets...)
	sort.Slice(byName, func(i, j int) bool {
		return byName[i].Binding.Namespace+"/"+byName[i].Binding.Name < byName[j].Binding.Namespace+"/"+byName[j].Binding.Name
	})
	var warnings []string
	missing := map[string]bool{}
	for _, t := range byName {
		b := t.Binding
		ns := b.Annotations[lbv1.LockNamespaceAnnotation]
		if ns == "" {
			continue
		}
		isGone, asked := missing[ns]
		if !asked {
			isGone = gone(ns)
			missing[ns] = isGone
			if isGone {
				warnings = append(warnings, fmt.Sprintf("poolbinding %s/%s: annotation %s=%s names a namespace that does not exist: no controller takes pool locks there; the pass takes them in each binding's namespace",
					b.Namespace, b.Name, lbv1.LockNamespaceAnnotation, ns))
			}
		}
		if isGone {
			continue
		}
		pool := b.Spec.PoolRef.ID
		if prev, ok := a.byPool[pool]; ok && prev != ns {
			warnings = append(warnings, fmt.Sprintf("poolbinding %s/%s: annotation %s=%s, but another binding of pool %s names %s: the pass takes the lock in %s",
				b.Namespace, b.Name, lbv1.LockNamespaceAnnotation, ns, pool, prev, prev))
			continue
		}
		a.byPool[pool] = ns
	}
	return a, warnings
}

// Lock implements poollock.Locker. Where the advertised namespace's
// Leases are unavailable to this pass (no rights there, or the namespace
// is gone), it locks in the binding's namespace: it then takes turns with
// the passes that lock there, rather than with none.
func (a *advertisedLocks) Lock(ctx context.Context, bindingNamespace, poolID string) (context.Context, func(), error) {
	ns := a.byPool[poolID]
	if ns == "" || ns == bindingNamespace {
		return a.Locker.Lock(ctx, bindingNamespace, poolID)
	}
	held, release, err := a.Locker.Lock(ctx, ns, poolID)
	if !errors.Is(err, poollock.ErrUnavailable) {
		return held, release, err
	}
	a.mu.Lock()
	first := !a.fellBack[poolID]
	a.fellBack[poolID] = true
	a.mu.Unlock()
	if first && a.warn != nil {
		a.warn(fmt.Sprintf("pool %s: its lock cannot be taken in namespace %s, where the controller takes it (%v): this pass takes it in namespace %s, and does not take turns with the controller",
			poolID, ns, err, bindingNamespace))
	}
	return a.Locker.Lock(ctx, bindingNamespace, poolID)
}

// lockWarnings: with an explicit --lock-namespace, the bindings whose
// controller takes their pool's lock elsewhere: that pass and the
// controller would write the pool without taking turns.
func lockWarnings(lockNamespace string, targets []reconcile.Target) []string {
	var out []string
	for _, t := range targets {
		b := t.Binding
		if ns := b.Annotations[lbv1.LockNamespaceAnnotation]; ns != "" && ns != lockNamespace {
			out = append(out, fmt.Sprintf("poolbinding %s/%s: the controller takes pool %s's lock in namespace %s (annotation %s), this pass in %s (--lock-namespace): they do not take turns on the pool",
				b.Namespace, b.Name, b.Spec.PoolRef.ID, ns, lbv1.LockNamespaceAnnotation, lockNamespace))
		}
	}
	return out
}
