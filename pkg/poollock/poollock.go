// Package poollock makes the writers of one ELB pool take turns, across
// processes and machines, with a coordination.k8s.io/v1 Lease per pool on
// the Kubernetes API server: two `ccictl sync` passes (two CI jobs, a person
// and a CI job, later the watch-mode controller) must not act on plans made
// stale by each other's writes.
//
// A Lease named LeaseName(poolID) is held for the duration of one binding's
// read-plan-write of that pool. The holder renews it every third of its
// duration; a holder that dies stops renewing, and another writer takes
// the Lease over once a full duration has passed since it last saw the
// Lease change (its own clock, so clock skew between machines does not
// matter). A holder that cannot renew in time gives up: the context it
// works under is canceled before anyone else may take over.
//
// The package does not import cobra.
package poollock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Locker serialises the writers of a pool.
type Locker interface {
	// Lock returns once this process holds poolID's lock. held is canceled
	// when ctx is, or when the lock is lost (cause ErrLost); the caller does
	// its writes under held and calls release when done (release is safe to
	// call more than once, and gives the lock up even after ctx ended).
	// bindingNamespace is the namespace of the binding being synced (a
	// Locker may keep its locks there).
	//
	// Errors: a *BusyError (errors.Is ErrBusy) when another writer holds the
	// lock and the Locker does not wait; an *UnavailableError (errors.Is
	// ErrUnavailable) when locks cannot be used at all (the API is not
	// served, or forbidden) — the caller then protects its removals another
	// way; ctx's error when it ended while waiting.
	Lock(ctx context.Context, bindingNamespace, poolID string) (held context.Context, release func(), err error)
}

type contendedKey struct{}

// WithContended marks a held lock's context as contended (see Contended);
// a Locker calls it when another writer held the lock first.
func WithContended(ctx context.Context) context.Context {
	return context.WithValue(ctx, contendedKey{}, true)
}

// Contended reports whether the lock held under ctx was obtained after
// another writer held it (here or in another process). That writer may have
// changed the pool, and time has passed: whatever the caller read before
// Lock (desired endpoints above all) is then stale and must be read again
// before planning.
func Contended(held context.Context) bool {
	v, _ := held.Value(contendedKey{}).(bool)
	return v
}

var (
	// ErrBusy: another writer holds the pool's lock.
	ErrBusy = errors.New("pool is locked by another writer")
	// ErrUnavailable: pool locks cannot be used with this API server or identity.
	ErrUnavailable = errors.New("pool locks are unavailable")
	// ErrLost: the lock was lost while held (not renewed in time, or taken over).
	ErrLost = errors.New("pool lock lost")
	// ErrNamespace: the namespace given for the locks does not exist.
	ErrNamespace = errors.New("the lock namespace does not exist")
)

// BusyError says who holds the lock.
type BusyError struct {
	Lease  string // namespace/name
	Holder string
	// Renewed is the holder's last renew time as it wrote it.
	Renewed time.Time
}

func (e *BusyError) Error() string {
	s := fmt.Sprintf("pool is locked by %s (Lease %s", e.Holder, e.Lease)
	if !e.Renewed.IsZero() {
		s += ", renewed " + e.Renewed.UTC().Format(time.RFC3339)
	}
	return s + ")"
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// UnavailableError says why locks cannot be used.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	return "pool locks (coordination.k8s.io/v1 Leases) are unavailable: " + e.Err.Error()
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *UnavailableError) Unwrap() error { return e.Err }

type confirmKey struct{}

type confirmation struct {
	once  sync.Once
	check func(context.Context) error
	err   error
}

// WithConfirm attaches check to a held lock's context: Confirm runs it, at
// most once, before the holder's first write. A Locker uses it for what it
// must re-read after taking the lock but only when the holder will write
// (a pass with nothing to write need not pay for the read).
func WithConfirm(held context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(held, confirmKey{}, &confirmation{check: check})
}

// Confirm must be called by a holder right before its first write under
// held: an error means it must not write (nothing is written; the lock is
// still to be released as usual).
func Confirm(held context.Context) error {
	c, _ := held.Value(confirmKey{}).(*confirmation)
	if c == nil {
		return nil
	}
	c.once.Do(func() { c.err = c.check(held) })
	return c.err
}
