package poolsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poollock"
)

// scriptedLocker answers Lock with err, or grants a lock whose context the
// test can cancel as lost; it records what was asked.
type scriptedLocker struct {
	err       error
	contended bool // the lock is granted as if another writer held it first
	calls     []string
	released  int
	lose      func() // set while held: cancels the held context with ErrLost
}

func (l *scriptedLocker) Lock(ctx context.Context, ns, poolID string) (context.Context, func(), error) {
	l.calls = append(l.calls, ns+"/"+poolID)
	if l.err != nil {
		return nil, nil, l.err
	}
	held, cancel := context.WithCancelCause(ctx)
	if l.contended {
		held = poollock.WithContended(held)
	}
	l.lose = func() { cancel(fmt.Errorf("%w: test", poollock.ErrLost)) }
	return held, func() { l.released++; cancel(nil) }, nil
}

func TestSyncTakesPoolLock(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	l := &scriptedLocker{}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: l}})
	wantState(t, r, StateSynced, ReasonSynced)
	if len(l.calls) != 1 || l.calls[0] != "ns/"+pid || l.released != 1 {
		t.Errorf("lock calls %v, released %d: want one lock of ns/%s, released", l.calls, l.released, pid)
	}
	// A dry run takes no lock.
	l = &scriptedLocker{}
	Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 4)}, Options{Policy: Policy{ClusterID: testCluster, DryRun: true}, Hooks: Hooks{Locker: l}})
	if len(l.calls) != 0 {
		t.Errorf("dry run locked %v", l.calls)
	}
}

func TestSyncBusyChangesNothing(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	busy := &poollock.BusyError{Lease: "ns/ccictl-pool-" + pid, Holder: "ccictl/other/1/ab"}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{err: busy}}})
	wantState(t, r, StateBlocked, ReasonBusy)
	if !strings.Contains(r.Message, "ccictl/other/1/ab") {
		t.Errorf("message %q does not name the holder", r.Message)
	}
	if r.InSync() {
		t.Error("a busy binding counts as in sync")
	}
	e.wantCounts(t, 0, 0, 0, 0)
}

func TestSyncLockWaitCanceled(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)},
		Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{err: fmt.Errorf("waiting for the holder: %w", context.DeadlineExceeded)}}})
	wantState(t, r, StateFailed, ReasonTimeout)
	e.wantCounts(t, 0, 0, 0, 0)
}

// A pool lock the Lease API fails to give (the API server down or
// erroring) is LockFailed, not an ELB error: the ELB was never asked.
func TestSyncLockFailedIsNotAnELBError(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)},
		Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{err: errors.New("Post \"https://127.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/ns/leases\": connection refused")}}})
	wantState(t, r, StateFailed, ReasonLockFailed)
	if !strings.Contains(r.Message, "lock pool "+pid) || !strings.Contains(r.Message, "nothing changed") {
		t.Errorf("message %q does not say which lock failed and that nothing changed", r.Message)
	}
	e.wantCounts(t, 0, 0, 0, 0)
}

// Without locks, a removal whose endpoint is desired again by the time the
// removals start is dropped; the others are made.
func TestSyncUnavailableLockRechecksRemovals(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	opts := Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{err: &poollock.UnavailableError{Err: errors.New("forbidden")}}}}
	wantState(t, Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 4)}, opts), StateSynced, ReasonSynced)
	e.emu.ResetCounts()

	// The pass read eps 0-1 (plans to remove 2 and 3); the re-read shows 2 back.
	reads := 0
	opts.ReadDesired = func(ctx context.Context, tg Target) ([]Endpoint, error) {
		reads++
		return eps(0, 3), nil
	}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, opts)
	wantState(t, r, StateSynced, ReasonSynced)
	if reads != 1 || r.Removed != 1 || r.Plan.Remove != 2 || !strings.Contains(r.Message, "1 removal(s) dropped") {
		t.Errorf("reads %d, removed %d of planned %d, message %q", reads, r.Removed, r.Plan.Remove, r.Message)
	}
	e.wantPool(t, pid, b, eps(0, 3))
	e.wantCounts(t, 1, 2, 0, 1)

	// No removal planned: no re-read, no extra list.
	reads = 0
	wantState(t, Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, opts), StateInSync, ReasonInSync)
	if reads != 0 {
		t.Errorf("re-read without removals")
	}
	e.wantCounts(t, 1, 1, 0, 0)

	// A re-read that fails withholds every removal.
	opts.ReadDesired = func(context.Context, Target) ([]Endpoint, error) { return nil, errors.New("list services: forbidden") }
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 1)}, opts)
	if r.InSync() || r.Removed != 0 || !strings.Contains(r.Message, "no removal made") {
		t.Errorf("failed re-read: %+v", r)
	}
	e.wantPool(t, pid, b, eps(0, 3))
}

// A lock lost while writing stops the binding with LockLost.
func TestSyncLockLost(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	l := &scriptedLocker{}
	var c lossyClient
	c.Client, c.lose = e.client, func() { l.lose() }
	r := Sync(context.Background(), &c, Target{Binding: b, Endpoints: eps(0, 450)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: l}})
	wantState(t, r, StateFailed, ReasonLockLost)
	if r.Added != 200 || !strings.Contains(r.Message, "pool lock lost") {
		t.Errorf("added %d, message %q: want the first batch only and the loss named", r.Added, r.Message)
	}
}

// lossyClient loses the lock right after the first batch-add succeeded.
type lossyClient struct {
	elb.Client
	lose func()
	n    int
}

func (c *lossyClient) BatchAddMembers(ctx context.Context, poolID string, ms []elb.NewMember) ([]elb.BatchResult, error) {
	res, err := c.Client.BatchAddMembers(ctx, poolID, ms)
	if c.n++; c.n == 1 {
		c.lose()
	}
	return res, err
}

// A lock another writer held first means the endpoints read before the wait
// may be stale: the plan is made from a fresh read, so a pass that waited
// never re-adds endpoints a rollout removed meanwhile, nor removes the new
// ones, and never drains an endpoint that is ready again.
func TestSyncContendedLockRereadsDesired(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	// The writer that went first left the pool at the new endpoints 2-3.
	wantState(t, Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(2, 2)}, Options{Policy: Policy{ClusterID: testCluster}}), StateSynced, ReasonSynced)
	e.emu.ResetCounts()

	reads := 0
	opts := Options{
		Policy: Policy{
			ClusterID: testCluster,
		},
		Hooks: Hooks{
			Locker: &scriptedLocker{contended: true},
			ReadDesired: func(context.Context, Target) ([]Endpoint, error) {
				reads++
				return eps(2, 2), nil
			},
		},
	}
	// This pass read the old endpoints 0-1 before waiting, and 2 as
	// terminating; now 2 is ready again.
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2), Draining: eps(2, 1)}, opts)
	wantState(t, r, StateInSync, ReasonInSync)
	if reads != 1 || r.Desired != 2 || r.Plan.Update != 0 {
		t.Errorf("reads %d, desired %d, updates %d: want one re-read, 2 desired, no weight change", reads, r.Desired, r.Plan.Update)
	}
	e.wantPool(t, pid, b, eps(2, 2))
	e.wantCounts(t, 1, 1, 0, 0)

	// Uncontended: no re-read, the pass's own read is used.
	reads = 0
	opts.Locker = &scriptedLocker{}
	wantState(t, Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(2, 2)}, opts), StateInSync, ReasonInSync)
	if reads != 0 {
		t.Errorf("re-read %d time(s) without contention", reads)
	}

	// A failed re-read changes nothing.
	opts.Locker = &scriptedLocker{contended: true}
	opts.ReadDesired = func(context.Context, Target) ([]Endpoint, error) {
		return nil, errors.New("list endpointslices: forbidden")
	}
	e.emu.ResetCounts()
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, opts)
	wantState(t, r, StateBlocked, ReasonEndpointsUnresolved)
	e.wantPool(t, pid, b, eps(2, 2))
	e.wantCounts(t, 0, 0, 0, 0)
}

// The result is recorded (the binding's status written) while the pool's
// lock is still held, after a lost lock has been accounted for, and exactly
// once per binding: on the locked path, on a path that returns before the
// lock, and when the lock is busy.
func TestSyncRecordsUnderTheLock(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	l := &scriptedLocker{}
	var got []string
	record := func(_ context.Context, tg Target, r *Result) {
		got = append(got, fmt.Sprintf("%s %s released=%d", tg.Binding.Name, r.Reason, l.released))
		r.Message = "changed by the recorder"
	}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: l, Record: record}})
	if len(got) != 1 || got[0] != "web "+ReasonSynced+" released=0" || l.released != 1 {
		t.Errorf("records %v, released %d: want one record of a Synced result before the release", got, l.released)
	}
	if r.Message != "changed by the recorder" {
		t.Errorf("the recorder's change to the result was lost: %q", r.Message)
	}

	// Busy: recorded once, no lock held.
	got = nil
	busy := &poollock.BusyError{Lease: "ns/x", Holder: "other"}
	Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{err: busy}, Record: record}})
	if len(got) != 1 || !strings.HasPrefix(got[0], "web "+ReasonBusy) {
		t.Errorf("busy records %v, want one", got)
	}

	// Returned before the lock (an invalid weight): recorded once.
	got = nil
	bad := binding("bad", "uid-2", pid)
	bad.Annotations = map[string]string{"loadbalancer.networking.openvessel.io/weight": "heavy"}
	Sync(context.Background(), e.client, Target{Binding: bad, Endpoints: eps(0, 1)}, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Locker: &scriptedLocker{}, Record: record}})
	if len(got) != 1 || !strings.HasPrefix(got[0], "bad "+ReasonInvalidWeight) {
		t.Errorf("early-return records %v, want one InvalidWeight", got)
	}
}
