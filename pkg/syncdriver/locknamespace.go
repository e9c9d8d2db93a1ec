package syncdriver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// advertisedLocks takes each pool's lock where the controller of `sync
// --watch` takes it: the namespace its bindings carry in
// lbv1.LockNamespaceAnnotation (written by the controller), else the
// binding's own namespace (where a controller without --lock-namespace
// takes it too). Only without --lock-namespace: an explicit namespace
// wins (see lockWarnings).
//
// A controller may advertise its namespace on a binding after this pass
// listed it. So before the first write under a lock taken in the binding's
// namespace for want of an advertisement, the pool's bindings are read
// again (poollock.Confirm; a pass with nothing to write reads nothing); if
// one advertises a namespace now, the pass does not write the pool (Busy).
// The controller, for its part, advertises first and then reads the
// pool's Lease in its bindings' namespaces (poollock.AdvertisedLocker):
// whichever goes second sees the other, so the pass and the controller
// never write the pool at once.
type advertisedLocks struct {
	poollock.Locker
	// advertised reads a binding's lbv1.LockNamespaceAnnotation now, from
	// the API server ("" when it has none, or is gone).
	advertised func(ctx context.Context, namespace, name string) (string, error)

	mu     sync.Mutex
	byPool map[string]string                 // pool ID → advertised lock namespace
	bare   map[string][]types.NamespacedName // pool ID → its bindings without one
}

// newAdvertisedLocks reads the advertised namespaces of targets' pools.
// Bindings of one pool that name different namespaces (controllers with
// different --lock-namespace) are a warning; the first by name wins. A
// namespace that gone says does not exist (the controller was removed
// with it) is a warning and ignored: no controller locks there, and
// Leases cannot be created there, which would leave the pass without
// locks.
func newAdvertisedLocks(l poollock.Locker, targets []poolsync.Target, gone func(namespace string) bool,
	advertised func(ctx context.Context, namespace, name string) (string, error)) (*advertisedLocks, []string) {
	a := &advertisedLocks{Locker: l, advertised: advertised, byPool: map[string]string{}, bare: map[string][]types.NamespacedName{}}
	byName := append([]poolsync.Target(nil), targets...)
	sort.Slice(byName, func(i, j int) bool {
		return byName[i].Binding.Namespace+"/"+byName[i].Binding.Name < byName[j].Binding.Namespace+"/"+byName[j].Binding.Name
	})
	var warnings []string
	missing := map[string]bool{}
	for _, t := range byName {
		b := t.Binding
		pool := b.Spec.PoolRef.ID
		ns := b.Annotations[lbv1.LockNamespaceAnnotation]
		if ns == "" {
			a.bare[pool] = append(a.bare[pool], types.NamespacedName{Namespace: b.Namespace, Name: b.Name})
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
		if prev, ok := a.byPool[pool]; ok && prev != ns {
			warnings = append(warnings, fmt.Sprintf("poolbinding %s/%s: annotation %s=%s, but another binding of pool %s names %s: the pass takes the lock in %s",
				b.Namespace, b.Name, lbv1.LockNamespaceAnnotation, ns, pool, prev, prev))
			continue
		}
		a.byPool[pool] = ns
	}
	return a, warnings
}

// Lock implements poollock.Locker.
func (a *advertisedLocks) Lock(ctx context.Context, bindingNamespace, poolID string) (context.Context, func(), error) {
	a.mu.Lock()
	ns, bare := a.byPool[poolID], a.bare[poolID]
	a.mu.Unlock()
	if ns != "" && ns != bindingNamespace {
		return a.lockAdvertised(ctx, ns, poolID)
	}
	held, release, err := a.Locker.Lock(ctx, bindingNamespace, poolID)
	if err != nil || ns != "" || a.advertised == nil || len(bare) == 0 {
		return held, release, err
	}
	return poollock.WithConfirm(held, func(ctx context.Context) error {
		// The Lease is written: read the pool's bindings again.
		for _, b := range bare {
			now, err := a.advertised(ctx, b.Namespace, b.Name)
			if err != nil {
				return fmt.Errorf("re-reading poolbinding %s/%s for where the controller takes the pool's lock: %w", b.Namespace, b.Name, err)
			}
			if now != "" && now != bindingNamespace {
				return fmt.Errorf("%w: the controller of `ccictl sync --watch` took over pool %s (it annotated poolbinding %s/%s with %s=%s after this pass read it); this pass stopped before writing, the next one takes turns with it",
					poollock.ErrBusy, poolID, b.Namespace, b.Name, lbv1.LockNamespaceAnnotation, now)
			}
		}
		return nil
	}), release, nil
}

// lockAdvertised takes poolID's lock in the controller's namespace ns.
// Where this identity cannot use Leases there, the pass does not write
// the pool: a lock taken elsewhere would not take turns with the
// controller.
func (a *advertisedLocks) lockAdvertised(ctx context.Context, ns, poolID string) (context.Context, func(), error) {
	held, release, err := a.Locker.Lock(ctx, ns, poolID)
	if errors.Is(err, poollock.ErrUnavailable) {
		return nil, nil, fmt.Errorf("the controller of `ccictl sync --watch` takes pool %s's lock in namespace %s (annotation %s on its bindings), where this identity cannot take it: %v; bind it to the Role ccictl-sync-pool-locks there (Helm value rbac.syncGroup), or choose a lock namespace with --lock-namespace",
			poolID, ns, lbv1.LockNamespaceAnnotation, err)
	}
	return held, release, err
}

// lockWarnings: with an explicit --lock-namespace, the bindings whose
// controller takes their pool's lock elsewhere: that pass and the
// controller would write the pool without taking turns.
func lockWarnings(lockNamespace string, targets []poolsync.Target) []string {
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
