package bindingstatus

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

func binding() *lbv1.PoolBinding {
	return &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1", Generation: 3},
		Spec: lbv1.PoolBindingSpec{
			PoolRef:   lbv1.PoolRef{ID: "pool-1"},
			TargetRef: lbv1.TargetRef{Kind: "Service", Group: "cci/v2", Name: "web", Port: 80},
		},
	}
}

func findCond(st lbv1.PoolBindingStatus, typ string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func TestStatusKeepsTransitionTime(t *testing.T) {
	b := binding()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := poolsync.Result{State: poolsync.StateSynced, Reason: poolsync.ReasonSynced, Desired: 3, Registered: 3, Foreign: 1, Orphans: 1, PoolRead: true}
	b.Status = Status(b, ok, t0)
	if b.Status.ObservedGeneration != 3 || b.Status.DesiredMembers != 3 || b.Status.RegisteredMembers != 3 ||
		b.Status.ForeignMembers != 2 || !b.Status.LastSyncTime.Time.Equal(t0) {
		t.Fatalf("status %+v", b.Status)
	}
	t1 := t0.Add(time.Hour)
	ok.State, ok.Reason = poolsync.StateInSync, poolsync.ReasonInSync
	st := Status(b, ok, t1)
	c := findCond(st, lbv1.ConditionSynced)
	if c.Status != metav1.ConditionTrue || c.Reason != poolsync.ReasonInSync || !c.LastTransitionTime.Time.Equal(t0) || !st.LastSyncTime.Time.Equal(t1) {
		t.Fatalf("synced %+v, lastSync %v", c, st.LastSyncTime)
	}
	// A pass that could not read the pool keeps the old counts.
	st = Status(b, poolsync.Result{State: poolsync.StateFailed, Reason: poolsync.ReasonELBError, Message: "boom"}, t1)
	c = findCond(st, lbv1.ConditionSynced)
	if c.Status != metav1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t1) || st.RegisteredMembers != 3 {
		t.Fatalf("status %+v", st)
	}
	if d := findCond(st, lbv1.ConditionDegraded); d.Status != metav1.ConditionTrue || d.Reason != poolsync.ReasonELBError {
		t.Fatalf("degraded %+v", d)
	}
}

// What each kind of pass result says in the conditions and counts.
func TestStatusOfResults(t *testing.T) {
	synced := func(r poolsync.Result) poolsync.Result {
		r.State, r.Reason, r.PoolRead = poolsync.StateSynced, poolsync.ReasonSynced, true
		return r
	}
	for _, tc := range []struct {
		name                string
		prior               lbv1.PoolBindingStatus
		r                   poolsync.Result
		synced, degraded    metav1.ConditionStatus
		reason, degReason   string
		desired, draining   int32
		registered, foreign int32
	}{{
		name: "orphans left are a degradation", r: synced(poolsync.Result{Desired: 2, Registered: 2, Orphans: 2}),
		synced: metav1.ConditionTrue, degraded: metav1.ConditionTrue, reason: poolsync.ReasonSynced, degReason: ReasonOrphanMembers,
		desired: 2, registered: 2, foreign: 2,
	}, {
		name: "orphans pruned are not", r: synced(poolsync.Result{Desired: 2, Registered: 2, Orphans: 2, Plan: poolsync.PlanSummary{Prune: 2}}),
		synced: metav1.ConditionTrue, degraded: metav1.ConditionFalse, reason: poolsync.ReasonSynced, degReason: ReasonAsExpected,
		desired: 2, registered: 2, foreign: 2,
	}, {
		name: "a foreign member at a desired endpoint", r: synced(poolsync.Result{Desired: 3, Registered: 2, Foreign: 3, Plan: poolsync.PlanSummary{Conflicts: 1}}),
		synced: metav1.ConditionTrue, degraded: metav1.ConditionTrue, reason: poolsync.ReasonSynced, degReason: ReasonForeignAtTarget,
		desired: 3, registered: 2, foreign: 3,
	}, {
		name: "draining members are counted", r: synced(poolsync.Result{Desired: 1, Registered: 1, Foreign: 1, Draining: 2}),
		synced: metav1.ConditionTrue, degraded: metav1.ConditionFalse, reason: poolsync.ReasonSynced, degReason: ReasonAsExpected,
		desired: 1, registered: 1, foreign: 1, draining: 2,
	}, {
		name:   "a blocked pass names its reason in both conditions",
		prior:  lbv1.PoolBindingStatus{DesiredMembers: 3, RegisteredMembers: 3},
		r:      poolsync.Result{State: poolsync.StateBlocked, Reason: poolsync.ReasonPoolConstraintViolated, Message: "pool of another load balancer"},
		synced: metav1.ConditionFalse, degraded: metav1.ConditionTrue, reason: poolsync.ReasonPoolConstraintViolated, degReason: poolsync.ReasonPoolConstraintViolated,
		desired: 3, registered: 3,
	}, {
		name:   "a missing Service desires nothing, the pool unread keeps its count",
		prior:  lbv1.PoolBindingStatus{DesiredMembers: 3, RegisteredMembers: 3},
		r:      poolsync.Result{State: poolsync.StateBlocked, Reason: poolsync.ReasonServiceNotFound},
		synced: metav1.ConditionFalse, degraded: metav1.ConditionTrue, reason: poolsync.ReasonServiceNotFound, degReason: poolsync.ReasonServiceNotFound,
		desired: 0, registered: 3,
	}, {
		name: "a result without a reason is an ELB error", r: poolsync.Result{State: poolsync.StateFailed},
		synced: metav1.ConditionFalse, degraded: metav1.ConditionTrue, reason: poolsync.ReasonELBError,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := binding()
			b.Status = tc.prior
			st := Status(b, tc.r, time.Now())
			s, d := findCond(st, lbv1.ConditionSynced), findCond(st, lbv1.ConditionDegraded)
			if s.Status != tc.synced || s.Reason != tc.reason || d.Status != tc.degraded || (tc.degReason != "" && d.Reason != tc.degReason) {
				t.Errorf("Synced %s/%s, Degraded %s/%s; want %s/%s, %s/%s", s.Status, s.Reason, d.Status, d.Reason, tc.synced, tc.reason, tc.degraded, tc.degReason)
			}
			if st.DesiredMembers != tc.desired || st.RegisteredMembers != tc.registered || st.ForeignMembers != tc.foreign || st.DrainingMembers != tc.draining {
				t.Errorf("members desired %d registered %d foreign %d draining %d; want %d %d %d %d", st.DesiredMembers, st.RegisteredMembers,
					st.ForeignMembers, st.DrainingMembers, tc.desired, tc.registered, tc.foreign, tc.draining)
			}
		})
	}
}
