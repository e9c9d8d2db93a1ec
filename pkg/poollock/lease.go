package poollock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/openvessel/ccictl/pkg/fence"
)

// Defaults of LeaseLocker.
const (
	// DefaultDuration is how long a Lease stays valid without renewal: a
	// killed holder blocks its pool for at most about this long.
	DefaultDuration = 15 * time.Second
	// DefaultPollInterval is how often a waiting writer looks at the Lease.
	DefaultPollInterval = 500 * time.Millisecond
	// releaseTimeout bounds giving a Lease up, which happens even after the
	// caller's context ended (an interrupted pass must not block the pool).
	releaseTimeout = 5 * time.Second
)

// LeaseName is the name of poolID's Lease. Pool IDs are UUIDs, so the name
// is a valid object name.
func LeaseName(poolID string) string { return "ccictl-pool-" + poolID }

// NewIdentity returns a holder identity unique to this process:
// host name, process id and a random suffix.
func NewIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "ccictl/" + host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// LeaseLocker is the Locker over coordination.k8s.io/v1 Leases.
type LeaseLocker struct {
	// Leases is the API client (kubernetes.Interface.CoordinationV1()).
	Leases coordclient.LeasesGetter
	// Namespace holds every pool's Lease; "" keeps each in the namespace of
	// the binding being synced. All writers of one pool must agree on it.
	Namespace string
	// Identity is this process's holder identity (NewIdentity if "").
	Identity string
	// Duration of the Lease (DefaultDuration if 0).
	Duration time.Duration
	// NoWait reports ErrBusy at once instead of waiting for the holder.
	NoWait bool
	// MaxWait, if positive, reports ErrBusy once a Lock has waited this
	// long for another holder: a controller's worker must not wait out a
	// long pass of another writer (it asks again through its queue).
	MaxWait time.Duration
	// PollInterval while waiting (DefaultPollInterval if 0).
	PollInterval time.Duration
	// Term, if set, binds the locks to a leadership term of the leader
	// Lease Term ("namespace/name"): they are taken under a context that
	// carries the term's guard (fence.LeaderTerm), and the Leases record
	// Term. A writer whose context holds a valid term of the same leader
	// Lease takes such a pool Lease over at once, without waiting for it to
	// expire: its holder was the previous leader, whose writes are fenced
	// by its own term, which ended before anyone else could acquire the
	// leader Lease. Writers without Term (one-shot passes) wait as usual.
	Term string
	// OnUnavailable, if set, is called once, the first time Leases turn out
	// to be unusable; later Locks answer ErrUnavailable without a request.
	OnUnavailable func(error)
	// OnWait, if set, is called when a Lock starts waiting for another
	// holder, with the Lease (namespace/name) and its holder: the pass
	// says which lock it waited for.
	OnWait func(lease, holder string)

	mu    sync.Mutex
	local map[string]*localSlot // one writer per Lease inside this process
	// unavailable: namespace → why Leases cannot be used there ("" key:
	// nowhere, the API is not served).
	unavailable map[string]error
	once        sync.Once
}

var _ Locker = (*LeaseLocker)(nil)

func (l *LeaseLocker) defaults() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Identity == "" {
		l.Identity = NewIdentity()
	}
	if l.Duration <= 0 {
		l.Duration = DefaultDuration
	}
	if l.PollInterval <= 0 {
		l.PollInterval = DefaultPollInterval
	}
	if l.local == nil {
		l.local = map[string]*localSlot{}
		l.unavailable = map[string]error{}
	}
}

// localSlot is the turn of the writers of one Lease inside this process,
// kept while any of them holds or waits for it: a controller that wrote to
// 10,000 pools must not keep 10,000 slots.
type localSlot struct {
	turn  chan struct{}
	users int
}

// joinSlot returns key's slot, counting the caller as a user until
// leaveSlot.
func (l *LeaseLocker) joinSlot(key string) *localSlot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.local[key]
	if s == nil {
		s = &localSlot{turn: make(chan struct{}, 1)}
		l.local[key] = s
	}
	s.users++
	return s
}

func (l *LeaseLocker) leaveSlot(key string, s *localSlot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(l.local, key)
	}
}

// markUnavailable remembers that Leases cannot be used in ns (everywhere,
// when the API is not served) and says so once.
func (l *LeaseLocker) markUnavailable(ns string, everywhere bool, err error) error {
	uerr := &UnavailableError{Err: err}
	if everywhere {
		ns = ""
	}
	l.mu.Lock()
	if prev := l.unavailable[ns]; prev != nil {
		uerr = prev.(*UnavailableError)
	} else {
		l.unavailable[ns] = uerr
	}
	l.mu.Unlock()
	l.once.Do(func() {
		if l.OnUnavailable != nil {
			l.OnUnavailable(uerr)
		}
	})
	return uerr
}

// Lock implements Locker.
func (l *LeaseLocker) Lock(ctx context.Context, bindingNamespace, poolID string) (context.Context, func(), error) {
	l.defaults()
	ns := l.Namespace
	if ns == "" {
		ns = bindingNamespace
	}
	l.mu.Lock()
	unavailable := l.unavailable[""]
	if unavailable == nil {
		unavailable = l.unavailable[ns]
	}
	l.mu.Unlock()
	if unavailable != nil {
		return nil, nil, unavailable
	}
	name := LeaseName(poolID)
	// Writers inside this process take turns first (two bindings of one
	// pass on one pool), so the Lease sees one holder per process.
	key := ns + "/" + name
	slot := l.joinSlot(key)
	h := &holder{l: l, client: l.Leases.Leases(ns), ns: ns, name: name}
	select {
	case slot.turn <- struct{}{}:
	default:
		h.contended = true
		select {
		case slot.turn <- struct{}{}:
		case <-ctx.Done():
			l.leaveSlot(key, slot)
			return nil, nil, ctx.Err()
		}
	}
	if err := h.acquire(ctx); err != nil {
		<-slot.turn
		l.leaveSlot(key, slot)
		return nil, nil, err
	}
	held, cancel := context.WithCancelCause(fence.With(ctx, h))
	if h.contended {
		held = WithContended(held)
	}
	done := make(chan struct{})
	go h.renew(held, cancel, done)
	var once sync.Once
	release := func() {
		once.Do(func() {
			h.end(errors.New("released"))
			cancel(nil)
			<-done
			h.release()
			<-slot.turn
			l.leaveSlot(key, slot)
		})
	}
	return held, release, nil
}

// holder is one held (or wanted) Lease.
type holder struct {
	l      *LeaseLocker
	client coordclient.LeaseInterface
	ns     string
	name   string

	mu    sync.Mutex
	lease *coordinationv1.Lease // as last written by us
	// renewed is when we last wrote the Lease successfully (our clock).
	renewed time.Time
	// contended: another writer held (or had just held) the lock when we
	// asked, so what the caller read before asking may be stale.
	contended bool
	// ended: lost or released; writes under it are refused.
	ended error
}

// Name implements fence.Guard.
func (h *holder) Name() string { return "pool lock " + h.ns + "/" + h.name }

// Valid implements fence.Guard: writes under the lock are allowed until
// the instant renew would give it up, two thirds of the duration after
// the last renewal was sent, while another writer waits a whole duration.
func (h *holder) Valid() (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended != nil {
		return time.Time{}, h.ended
	}
	return h.renewed.Add(h.l.Duration * 2 / 3), nil
}

func (h *holder) end(err error) {
	h.mu.Lock()
	if h.ended == nil {
		h.ended = err
	}
	h.mu.Unlock()
}

// acquire takes the Lease, waiting for another holder unless NoWait.
func (h *holder) acquire(ctx context.Context) error {
	var seen observation
	var waitedFor string // the holder OnWait was last told of
	start := time.Now()
	// A free pool has no Lease (release deletes it): try to create it
	// first, which makes an uncontended lock one request.
	create := true
	for {
		now := time.Now()
		if create {
			err := h.create(ctx, now)
			switch {
			case err == nil || ctx.Err() != nil:
				return err
			case !apierrors.IsAlreadyExists(err):
				return h.classify(err)
			}
			h.contended = true
		}
		cur, err := h.client.Get(ctx, h.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			create = true // released meanwhile
			continue
		case err != nil:
			return h.classify(err)
		}
		create = false
		seen = seen.update(cur, now)
		act := decide(cur, h.l.Identity, seen, h.l.Duration, now)
		if act == wait && h.previousTerm(ctx, cur) {
			act = take
		}
		switch act {
		case take:
			err := h.take(ctx, cur, now)
			if err == nil || ctx.Err() != nil {
				return err
			}
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return h.classify(err)
			}
			continue // changed or released under us: look again
		case wait:
			if h.l.NoWait || (h.l.MaxWait > 0 && now.Sub(start) >= h.l.MaxWait) {
				return &BusyError{Lease: h.ns + "/" + h.name, Holder: holderOf(cur), Renewed: renewTimeOf(cur)}
			}
			if waiting := holderOf(cur); waiting != waitedFor {
				waitedFor = waiting
				if h.l.OnWait != nil {
					h.l.OnWait(h.ns+"/"+h.name, waiting)
				}
			}
		}
		t := time.NewTimer(h.l.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for %s: %w", (&BusyError{Lease: h.ns + "/" + h.name, Holder: holderOf(cur), Renewed: renewTimeOf(cur)}).Error(), ctx.Err())
		case <-t.C:
		}
	}
}

// previousTerm reports whether cur is held under the leader Lease this
// locker's locks are bound to, while ctx holds a valid term of it: its
// holder's term is over.
func (h *holder) previousTerm(ctx context.Context, cur *coordinationv1.Lease) bool {
	t := h.l.Term
	return t != "" && cur.Annotations[TermAnnotation] == t && fence.Holds(ctx, fence.LeaderTerm(t))
}

// TermAnnotation on a pool Lease names the leader Lease ("namespace/name")
// whose leadership terms the holder's writes are bound to
// (LeaseLocker.Term).
const TermAnnotation = "loadbalancer.networking.openvessel.io/leader-lease"

// annotate records the locker's Term on a Lease it writes, and removes a
// previous holder's.
func (h *holder) annotate(l *coordinationv1.Lease) {
	if h.l.Term == "" {
		delete(l.Annotations, TermAnnotation)
		return
	}
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[TermAnnotation] = h.l.Term
}

// classify turns an API error into UnavailableError when the Lease API is
// not served or not allowed; other errors stay as they are.
func (h *holder) classify(err error) error {
	if h.l.Namespace != "" && isObjectNotFound(err) {
		// A namespace the user named that does not exist is a mistake to
		// report, not a reason to sync without locks.
		return fmt.Errorf("%w: Lease %s/%s: %v", ErrNamespace, h.ns, h.name, err)
	}
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) {
		// Forbidden is a matter of the namespace (RBAC, or a namespace
		// being deleted); a resource the server does not serve is missing
		// everywhere.
		everywhere := !apierrors.IsForbidden(err) && !isObjectNotFound(err)
		return h.l.markUnavailable(h.ns, everywhere, fmt.Errorf("Lease %s/%s: %w", h.ns, h.name, err))
	}
	return fmt.Errorf("Lease %s/%s: %w", h.ns, h.name, err)
}

func (h *holder) spec(now time.Time, transitions int32, acquired *metav1.MicroTime) coordinationv1.LeaseSpec {
	id := h.l.Identity
	secs := int32(h.l.Duration / time.Second)
	if secs < 1 {
		secs = 1
	}
	t := metav1.NewMicroTime(now)
	if acquired == nil {
		acquired = &t
	}
	return coordinationv1.LeaseSpec{
		HolderIdentity:       &id,
		LeaseDurationSeconds: &secs,
		AcquireTime:          acquired,
		RenewTime:            &t,
		LeaseTransitions:     &transitions,
	}
}

func (h *holder) create(ctx context.Context, now time.Time) error {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: h.name, Namespace: h.ns,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "ccictl"}},
		Spec: h.spec(now, 0, nil),
	}
	h.annotate(lease)
	out, err := h.client.Create(ctx, lease, metav1.CreateOptions{FieldManager: "ccictl-sync"})
	if err != nil {
		return err
	}
	h.set(out, now)
	return nil
}

func (h *holder) take(ctx context.Context, cur *coordinationv1.Lease, now time.Time) error {
	next := cur.DeepCopy()
	var transitions int32
	if cur.Spec.LeaseTransitions != nil {
		transitions = *cur.Spec.LeaseTransitions
	}
	if holderOf(cur) != h.l.Identity {
		transitions++
	}
	next.Spec = h.spec(now, transitions, nil)
	h.annotate(next)
	out, err := h.client.Update(ctx, next, metav1.UpdateOptions{FieldManager: "ccictl-sync"})
	if err != nil {
		return err
	}
	h.set(out, now)
	return nil
}

func (h *holder) set(lease *coordinationv1.Lease, at time.Time) {
	h.mu.Lock()
	h.lease, h.renewed = lease, at
	h.mu.Unlock()
}

func (h *holder) get() (*coordinationv1.Lease, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease, h.renewed
}

// renew keeps the Lease until held ends. When it cannot renew before
// another writer could take over (two thirds of the duration after the
// last renewal), or finds the Lease taken, it cancels held with ErrLost.
func (h *holder) renew(held context.Context, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	every := h.l.Duration / 3
	deadline := h.l.Duration * 2 / 3
	t := time.NewTicker(max(every/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-held.Done():
			return
		case <-t.C:
		}
		cur, last := h.get()
		now := time.Now()
		if now.Sub(last) < every {
			continue
		}
		next := cur.DeepCopy()
		rt := metav1.NewMicroTime(now)
		next.Spec.RenewTime = &rt
		ctx, c := context.WithTimeout(held, deadline-now.Sub(last))
		out, err := h.client.Update(ctx, next, metav1.UpdateOptions{FieldManager: "ccictl-sync"})
		c()
		switch {
		case err == nil:
			h.set(out, now)
		case held.Err() != nil:
			return
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			lost := fmt.Errorf("%w: Lease %s/%s changed by someone else: %v", ErrLost, h.ns, h.name, err)
			h.end(lost)
			cancel(lost)
			return
		case time.Since(last) >= deadline:
			lost := fmt.Errorf("%w: Lease %s/%s not renewed in time: %v", ErrLost, h.ns, h.name, err)
			h.end(lost)
			cancel(lost)
			return
		}
	}
}

// release gives the Lease up by deleting it, on the condition that it is
// still the one we last wrote (uid and resourceVersion): the next writer
// need not wait for it to expire, and a free pool leaves no object behind.
// A Lease someone else took over in between is left alone.
func (h *holder) release() {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	cur, _ := h.get()
	if cur == nil || holderOf(cur) != h.l.Identity {
		return
	}
	uid, rv := cur.UID, cur.ResourceVersion
	_ = h.client.Delete(ctx, h.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
}

// isObjectNotFound tells a missing object (e.g. the --lock-namespace
// namespace) from a resource type the server does not serve, whose 404
// names no object.
func isObjectNotFound(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return d != nil && d.Name != ""
}
