package bindingstatus

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// Degraded condition reasons beyond the pass result's (poolsync.Reason*).
const (
	ReasonAsExpected      = "AsExpected"
	ReasonForeignAtTarget = "ForeignMemberAtEndpoint"
	ReasonOrphanMembers   = "OrphanMembers"
)

// Status returns the PoolBindingStatus the pass result r implies for b, as
// the Writer writes it through the status subresource (never on a dry
// run). Conditions keep their lastTransitionTime while their status is
// unchanged. When the pass did not read the pool (Service missing, invalid
// binding, pool unreadable) the member counts of the previous status stay,
// because nothing newer is known.
func Status(b *lbv1.PoolBinding, r poolsync.Result, now time.Time) lbv1.PoolBindingStatus {
	st := *b.Status.DeepCopy()
	st.ObservedGeneration = b.Generation
	t := metav1.NewTime(now)
	st.LastSyncTime = &t

	if r.PoolRead {
		st.DesiredMembers = clamp(r.Desired)
		st.RegisteredMembers = clamp(r.Registered)
		// Everything this binding does not own, orphans included.
		st.ForeignMembers = clamp(r.Foreign + r.Orphans)
		st.DrainingMembers = clamp(r.Draining)
		st.Zones = nil
		for z, n := range r.Zones {
			st.Zones = append(st.Zones, lbv1.ZoneEndpoints{Zone: z, Endpoints: clamp(n)})
		}
		slices.SortFunc(st.Zones, func(a, b lbv1.ZoneEndpoints) int { return strings.Compare(a.Zone, b.Zone) })
		st.HealthyMembers, st.UnhealthyMembers = 0, 0
		if r.Health != nil {
			st.HealthyMembers, st.UnhealthyMembers = clamp(r.Health.Healthy), clamp(r.Health.Unhealthy)
		}
	} else if r.Reason == poolsync.ReasonServiceNotFound || r.Reason == poolsync.ReasonServicePortNotFound {
		st.DesiredMembers = 0
	}

	synced := metav1.Condition{
		Type:               lbv1.ConditionSynced,
		Status:             metav1.ConditionFalse,
		Reason:             r.Reason,
		Message:            r.Message,
		ObservedGeneration: b.Generation,
		LastTransitionTime: t,
	}
	if r.InSync() {
		synced.Status = metav1.ConditionTrue
	}
	if synced.Reason == "" {
		synced.Reason = poolsync.ReasonELBError // a Result always has a reason; be safe
	}
	meta.SetStatusCondition(&st.Conditions, synced)

	degraded := metav1.Condition{
		Type:               lbv1.ConditionDegraded,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: b.Generation,
		LastTransitionTime: t,
	}
	switch {
	case !r.InSync():
		degraded.Reason, degraded.Message = synced.Reason, r.Message
	case r.Plan.Conflicts > 0:
		degraded.Reason = ReasonForeignAtTarget
		degraded.Message = fmt.Sprintf("%d desired endpoint(s) are held by members this binding does not own", r.Plan.Conflicts)
	case orphansLeft(r) > 0:
		degraded.Reason = ReasonOrphanMembers
		degraded.Message = fmt.Sprintf("%d member(s) of deleted bindings remain (left until orphans are pruned)", orphansLeft(r))
	default:
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionFalse, ReasonAsExpected, ""
	}
	meta.SetStatusCondition(&st.Conditions, degraded)
	return st
}

func clamp(n int) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

// orphansLeft: orphans found minus those this pass pruned.
func orphansLeft(r poolsync.Result) int {
	if r.State == poolsync.StateSynced {
		return r.Orphans - r.Plan.Prune
	}
	return r.Orphans
}
