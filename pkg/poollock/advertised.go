package poollock

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

// AdvertisedLocker is the Locker of a controller that takes every pool's
// lock in its own namespace (Namespace) and advertises that namespace on
// each binding before its first write (lbv1.LockNamespaceAnnotation). A
// one-shot pass that read a binding before the advertisement takes the
// pool's lock in the namespace of the binding it syncs instead, which may
// be another binding of the same pool than the one this process
// reconciles. So the first time this process locks a pool after an
// advertisement it also reads the pool's Lease in the namespace of every
// binding of the pool it knows of (PoolNamespaces), and waits (ErrBusy)
// while another writer holds one.
//
// Why once suffices: the controller writes the advertisement and then
// reads the binding namespace's Lease; a one-shot pass writes that Lease
// and then reads the binding again (and moves to the advertised lock if
// it finds one). Whichever of the two goes second sees the other's write,
// so the two never write the pool at once. Advertise must be called when
// the advertisement is (re)written, to have the next Lock read again.
type AdvertisedLocker struct {
	Locker
	// Namespace is where Locker takes every lock.
	Namespace string
	// PoolNamespaces, if set, lists the namespaces of a pool's bindings
	// (the controller's cache); the locked binding's own is always read.
	PoolNamespaces func(poolID string) []string
	// Leases reads the binding namespaces' Leases (get only).
	Leases coordclient.LeasesGetter
	// Duration is assumed for a Lease that states none.
	Duration time.Duration
	// OnUnreadable, if set, is told once when the binding namespaces'
	// Leases cannot be read (no RBAC): the check is then skipped.
	OnUnreadable func(error)

	mu     sync.Mutex
	clear  map[string]map[string]bool // pool ID → namespaces read free since its last advertisement
	seen   map[string]observation     // a held Lease as last seen, to tell an expired one
	warned bool
}

// Advertise says that a binding (in namespace) of poolID was (re)told the
// controller's lock namespace just now: the pool's Leases in its bindings'
// namespaces are read again by the next Lock.
func (a *AdvertisedLocker) Advertise(namespace, poolID string) {
	a.mu.Lock()
	delete(a.clear, poolID)
	a.mu.Unlock()
}

// Lock implements Locker.
func (a *AdvertisedLocker) Lock(ctx context.Context, bindingNamespace, poolID string) (context.Context, func(), error) {
	held, release, err := a.Locker.Lock(ctx, bindingNamespace, poolID)
	if err != nil {
		return held, release, err
	}
	namespaces := []string{bindingNamespace}
	if a.PoolNamespaces != nil {
		namespaces = append(namespaces, a.PoolNamespaces(poolID)...)
	}
	slices.Sort(namespaces)
	namespaces = slices.Compact(namespaces)
	a.mu.Lock()
	namespaces = slices.DeleteFunc(namespaces, func(ns string) bool {
		return ns == a.Namespace || a.clear[poolID][ns] // the lock just taken, or read free already
	})
	a.mu.Unlock()
	for _, ns := range namespaces {
		if err := a.check(held, ns, poolID); err != nil {
			release()
			return nil, nil, err
		}
	}
	a.mu.Lock()
	if a.clear == nil {
		a.clear = map[string]map[string]bool{}
	}
	if a.clear[poolID] == nil {
		a.clear[poolID] = map[string]bool{}
	}
	for _, ns := range namespaces {
		a.clear[poolID][ns] = true
		delete(a.seen, ns+"/"+poolID)
	}
	a.mu.Unlock()
	return held, release, nil
}

// check reads poolID's Lease in the binding's namespace: nil when nobody
// holds it there (absent, released, or unchanged for its whole duration),
// a *BusyError while someone does.
func (a *AdvertisedLocker) check(ctx context.Context, namespace, poolID string) error {
	name := LeaseName(poolID)
	cur, err := a.Leases.Leases(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsForbidden(err):
		a.mu.Lock()
		first := !a.warned
		a.warned = true
		a.mu.Unlock()
		if first && a.OnUnreadable != nil {
			a.OnUnreadable(fmt.Errorf("Lease %s/%s: %w", namespace, name, err))
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading Lease %s/%s (a one-shot pass's lock of the pool): %w", namespace, name, err)
	}
	key := namespace + "/" + poolID
	now := time.Now()
	a.mu.Lock()
	if a.seen == nil {
		a.seen = map[string]observation{}
	}
	seen := a.seen[key].update(cur, now)
	a.seen[key] = seen
	a.mu.Unlock()
	d := a.Duration
	if d <= 0 {
		d = DefaultDuration
	}
	// The controller never holds Leases there: any holder is another writer.
	if decide(cur, "", seen, d, now) == take {
		return nil
	}
	return &BusyError{Lease: namespace + "/" + name, Holder: holderOf(cur), Renewed: renewTimeOf(cur)}
}
