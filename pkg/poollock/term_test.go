package poollock

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openvessel/ccictl/pkg/fence"
)

// A pool lock held under a leadership term is taken over at once by a
// writer that holds a valid term of the same leader Lease; not by one
// whose context carries no such term, one of another leader Lease, or a
// one-shot pass (no Term), which wait for it to expire. A one-shot pass
// that takes the Lease over removes the term, so that no leader takes its
// lock early. Writes under a lock are refused once it is released.
func TestTermBoundLocks(t *testing.T) {
	const ns = "poollock-term"
	kube, ctx := newNamespace(t, ns), context.Background()
	const leader = ns + "/ccictl-sync"
	termCtx := func(lease string) context.Context {
		v := fence.NewValidity(fence.LeaderTerm(lease), time.Hour, nil)
		v.Renewed(time.Now())
		return fence.With(ctx, v)
	}
	locker := func(id, term string) *LeaseLocker {
		return &LeaseLocker{Leases: kube.CoordinationV1(), Identity: id, Term: term, NoWait: true, Duration: time.Hour}
	}

	old := locker("old-leader", leader)
	held, _, err := old.Lock(termCtx(leader), ns, "pool-a") // never released: the leader died
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fence.Check(held); err != nil {
		t.Fatalf("fresh lock: %v", err)
	}
	lease, err := kube.CoordinationV1().Leases(ns).Get(ctx, LeaseName("pool-a"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := lease.Annotations[TermAnnotation]; got != leader {
		t.Fatalf("pool Lease records term %q, want %q", got, leader)
	}

	for _, c := range []struct {
		what string
		l    *LeaseLocker
		ctx  context.Context
	}{
		{"a one-shot pass", locker("one-shot", ""), ctx},
		{"a leader of another Lease", locker("other", ns+"/other"), termCtx(ns + "/other")},
		{"a writer without a term in its context", locker("no-term", leader), ctx},
	} {
		if _, _, err := c.l.Lock(c.ctx, ns, "pool-a"); !errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v, want ErrBusy (wait for the lock to expire)", c.what, err)
		}
	}
	next := locker("new-leader", leader)
	held2, release2, err := next.Lock(termCtx(leader), ns, "pool-a")
	if err != nil {
		t.Fatalf("the next leader did not take the previous term's lock: %v", err)
	}
	if _, err := fence.Check(held2); err != nil {
		t.Errorf("taken lock: %v", err)
	}
	release2()
	if _, err := fence.Check(held2); !errors.Is(err, fence.ErrExpired) {
		t.Errorf("after release: %v, want writes refused", err)
	}

	// A one-shot pass's lock, even taken over from a leader, is not.
	mine := locker("leader-2", leader)
	if _, _, err := mine.Lock(termCtx(leader), ns, "pool-b"); err != nil {
		t.Fatal(err)
	}
	cur, err := kube.CoordinationV1().Leases(ns).Get(ctx, LeaseName("pool-b"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oneShot := locker("one-shot", "")
	h := &holder{l: oneShot, client: kube.CoordinationV1().Leases(ns), ns: ns, name: LeaseName("pool-b")}
	oneShot.defaults()
	if err := h.take(ctx, cur, time.Now()); err != nil { // as after the leader's lock expired
		t.Fatal(err)
	}
	if _, _, err := locker("leader-3", leader).Lock(termCtx(leader), ns, "pool-b"); !errors.Is(err, ErrBusy) {
		t.Errorf("a leader took a one-shot pass's lock: %v, want ErrBusy", err)
	}
}
