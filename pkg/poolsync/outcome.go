package poolsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poollock"
)

// Result states. A binding is in sync after the pass when its state is
// StateInSync or StateSynced.
const (
	StateInSync   = "InSync"   // nothing to change
	StateSynced   = "Synced"   // changes applied, pool now as desired
	StatePending  = "Pending"  // dry run found changes
	StateBlocked  = "Blocked"  // a safety rule or constraint held changes back
	StateDegraded = "Degraded" // new members did not become healthy; stale ones kept
	StateFailed   = "Failed"   // an error; the pool may be partly changed
)

// Condition reasons (Result.Reason and the Synced/Degraded conditions).
const (
	ReasonInSync                 = "InSync"
	ReasonSynced                 = "Synced"
	ReasonChangesPending         = "ChangesPending"
	ReasonInvalidBinding         = "InvalidBinding"
	ReasonServiceNotFound        = "ServiceNotFound"
	ReasonServicePortNotFound    = "ServicePortNotFound"
	ReasonEndpointsUnresolved    = "EndpointsUnresolved"
	ReasonPoolNotFound           = "PoolNotFound"
	ReasonPoolConstraintViolated = "PoolConstraintViolated"
	ReasonEmptyRefused           = "EmptyRefused"
	ReasonInconsistentRead       = "InconsistentRead"
	ReasonInvalidWeight          = "InvalidWeight"
	ReasonELBError               = "ELBError"
	ReasonCanceled               = "Canceled"
	ReasonTimeout                = "Timeout"
	ReasonBusy                   = "Busy"       // another writer holds the pool's lock (no waiting asked)
	ReasonLockLost               = "LockLost"   // the pool's lock was lost while writing
	ReasonLockFailed             = "LockFailed" // the pool's lock could not be taken (the Lease API failed)
	// ReasonQuotaExhausted: members sync must keep fill the pool's quota,
	// so desired endpoints cannot be added.
	ReasonQuotaExhausted = "QuotaExhausted"
	// ReasonMembersUnhealthy: with --wait-healthy, new members were not
	// ONLINE within --health-timeout; the stale members they replace stay.
	ReasonMembersUnhealthy = "MembersUnhealthy"
	// ReasonDeletionProtected: the pool has member deletion protection on;
	// additions happened, removals were withheld.
	ReasonDeletionProtected = "DeletionProtected"
	// ReasonPoolTypeUnsupported: the pool's type or ip_version cannot take
	// the members sync would add; nothing was written.
	ReasonPoolTypeUnsupported = "PoolTypeUnsupported"
	// ReasonEndpointsInTransition: the Service's EndpointSlices disagree on
	// the name of the binding's port (a rename in progress); removals at
	// the endpoints of the lagging slices were withheld.
	ReasonEndpointsInTransition = "EndpointsInTransition"
)

// setOutcome records how the binding's pass ended: its state, the
// condition reason and the message that says why. Every outcome of a pass
// is set here, or by fail, which derives the reason from an error.
func (r *Result) setOutcome(state, reason, msg string) Result {
	r.State, r.Reason, r.Message = state, reason, msg
	return *r
}

// incomplete blocks the pass because the desired set is not known (in
// full): nothing is removed.
func (r *Result) incomplete(reason, msg string) Result {
	r.Blocked = BlockedIncomplete
	return r.setOutcome(StateBlocked, reason, msg)
}

// finish sets the outcome of a pass that read the pool and planned: what
// the plan's guard withheld, then what the writes did (x), then what is
// left to do; and says what the re-check before removing dropped.
func (r *Result) finish(p Plan, resolveErr error, dryRun bool, x *rounds) {
	state, reason, msg := r.classify(p, resolveErr, dryRun, x)
	if r.dropped > 0 {
		msg += fmt.Sprintf("; %d removal(s) dropped: their members changed or their endpoints were desired again when re-read right before removing", r.dropped)
	}
	r.setOutcome(state, reason, msg)
}

// classify is the state, reason and message of a pass that read the pool
// and planned p, and wrote what x says (nothing on a dry run).
func (r *Result) classify(p Plan, resolveErr error, dryRun bool, x *rounds) (state, reason, msg string) {
	short, notAdded := x.short, max(x.short, len(x.adds))
	if dryRun {
		short, notAdded = r.Plan.Short, r.Plan.Short
	}
	switch {
	case p.Blocked == BlockedIncomplete:
		return StateBlocked, resolveReason(resolveErr),
			fmt.Sprintf("desired endpoints incomplete (%v); %d removal(s)%s withheld", resolveErr, len(p.Withheld), withheldUpdates(p))
	case p.Blocked == BlockedEmptyRefused:
		if len(p.Withheld) == 0 {
			msg = fmt.Sprintf("no ready endpoint; refusing to drain %d member(s) to weight 0 without --allow-empty", len(p.WithheldUpdates))
		} else {
			msg = fmt.Sprintf("no ready endpoint; refusing to remove %d member(s)%s without --allow-empty", len(p.Withheld), withheldUpdates(p))
		}
		return StateBlocked, ReasonEmptyRefused, msg
	case p.Blocked == BlockedInconsistentRead:
		return StateBlocked, ReasonInconsistentRead,
			fmt.Sprintf("%s; %d removal(s)%s withheld", p.Inconsistency, len(p.Withheld), withheldUpdates(p))
	case p.Blocked != "" && p.Blocked != BlockedDeletionProtected:
		// BlockedInvalidOwner; newResult already rejects such bindings.
		return StateFailed, ReasonInvalidBinding, ""
	case len(x.unhealthy) > 0:
		text, n := x.hb.unhealthyText(x.unhealthy)
		return StateDegraded, ReasonMembersUnhealthy, fmt.Sprintf("%d new member(s) not ONLINE after %v (%s); %d stale member(s) kept",
			n, x.opts.healthTimeout(), text, len(x.removes))
	case p.Blocked == BlockedDeletionProtected:
		// Before the quota: the withheld removals are why no room was made.
		msg = fmt.Sprintf("pool %s has member_deletion_protection_enable: %d removal(s) withheld", r.PoolID, len(p.Withheld))
		if !dryRun {
			msg = fmt.Sprintf("pool %s has member_deletion_protection_enable: added %d, %d removal(s) withheld", r.PoolID, r.Added, len(p.Withheld))
		}
		if notAdded > 0 {
			msg += fmt.Sprintf("; %d desired endpoint(s) not added: no room under %s without those removals", notAdded, r.quotaText(x))
		}
		return StateBlocked, ReasonDeletionProtected, msg
	case short > 0 || x.refused:
		kept := r.Plan.Keep + r.Plan.Conflicts
		foreign := r.Plan.Foreign + r.Plan.Orphans - r.Plan.Prune
		switch {
		case x.refused:
			msg = fmt.Sprintf("the ELB refused additions with %s (quota exceeded) although the pool had room under %s: the limit is elsewhere (a project-wide quota, or another writer); %d desired endpoint(s) not added",
				elb.CodeQuotaExceeded, r.quotaText(x), notAdded)
		case x.wasRefused:
			msg = fmt.Sprintf("the ELB refused additions with %s (quota exceeded) when pool %s held %d member(s)%s, of which sync keeps %d foreign or orphaned and %d owned at desired endpoints: %d of %d desired endpoint(s) cannot be added",
				elb.CodeQuotaExceeded, r.PoolID, x.refusedAt, r.quotaRead(), foreign, kept, notAdded, r.Desired)
		default:
			msg = fmt.Sprintf("%s is filled by members sync keeps (%d foreign or orphaned, %d owned at desired endpoints): %d of %d desired endpoint(s) cannot be added",
				r.quotaText(x), foreign, kept, short, r.Desired)
		}
		return StateBlocked, ReasonQuotaExhausted, msg
	case len(p.Transition) > 0 && p.Blocked == "":
		msg = fmt.Sprintf("the Service's EndpointSlices disagree on the name of port %d (%d slice(s) name it otherwise: a rename in progress); %d removal(s) at their endpoints withheld until they agree",
			r.port, r.laggingSlices, len(p.Transition))
		if !dryRun {
			msg = fmt.Sprintf("added %d, removed %d member(s); ", r.Added, r.Removed) + msg
		}
		return StateBlocked, ReasonEndpointsInTransition, msg
	case dryRun && p.Changes():
		msg = fmt.Sprintf("would add %d and remove %d member(s)", len(p.ToAdd), len(p.ToRemove))
		if len(p.ToUpdate) > 0 {
			msg += fmt.Sprintf(", and change %d weight(s)", len(p.ToUpdate))
		}
		return StatePending, ReasonChangesPending, msg
	case dryRun || !p.Changes():
		return StateInSync, ReasonInSync, ""
	}
	msg = fmt.Sprintf("added %d, removed %d member(s)", r.Added, r.Removed)
	if r.Updated > 0 {
		msg += fmt.Sprintf(", changed %d weight(s)", r.Updated)
	}
	if r.Renamed > 0 {
		msg += fmt.Sprintf(", re-marked %d member(s)", r.Renamed)
	}
	return StateSynced, ReasonSynced, msg
}

// quotaText names the quota the pass staged against as far as it is known:
// the ELB's refusal, the quota API's answer, or the --member-quota assumed.
func (r *Result) quotaText(x *rounds) string {
	switch {
	case x.wasRefused:
		return fmt.Sprintf("the member quota of pool %s (the ELB refused additions with %s when it held %d member(s)%s)", r.PoolID, elb.CodeQuotaExceeded, x.refusedAt, r.quotaRead())
	case r.Plan.QuotaSource == QuotaFromFlag:
		return fmt.Sprintf("the member quota of pool %s, assumed %d (--member-quota: the quota API could not be read)", r.PoolID, r.Plan.Quota)
	case r.Plan.QuotaSource == QuotaUnknown:
		return fmt.Sprintf("the member quota of pool %s, unknown (the quota API could not be read; at least %d, the members it held)", r.PoolID, r.Plan.Quota)
	case r.Plan.Quota < 0:
		return fmt.Sprintf("the unlimited member quota of pool %s", r.PoolID)
	}
	return fmt.Sprintf("member quota %d of pool %s", r.Plan.Quota, r.PoolID)
}

// quotaRead is "; the quota API says N" (or why it said nothing), for a
// message about an ELB.8905 refusal.
func (r *Result) quotaRead() string {
	switch r.Plan.QuotaSource {
	case QuotaFromAPI:
		if r.Plan.Quota < 0 {
			return "; the quota API says unlimited"
		}
		return fmt.Sprintf("; the quota API says %d", r.Plan.Quota)
	case QuotaFromFlag:
		return fmt.Sprintf("; the quota API could not be read, --member-quota=%d", r.Plan.Quota)
	case QuotaUnknown:
		return "; the quota API could not be read"
	}
	return ""
}

// withheldUpdates is " and N weight change(s)" when the guard withheld any.
func withheldUpdates(p Plan) string {
	if len(p.WithheldUpdates) == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d weight change(s)", len(p.WithheldUpdates))
}

// fail records err. Counts of what was done so far stay.
func (r *Result) fail(err error) Result {
	if elb.IsGatewayNotFound(err) {
		// Not the ELB's answer about the pool: say what it likely is.
		err = fmt.Errorf("%w (API Gateway does not route this API: check the ELB endpoint, region and project)", err)
	}
	r.Errors = append(r.Errors, err.Error())
	return r.setOutcome(StateFailed, r.failReason(err), err.Error())
}

// failReason is the condition reason of a pass that failed with err.
func (r *Result) failReason(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case elb.IsPoolNotFound(err) && !r.PoolRead:
		// Only the ELB's own not-found answer (ELB.9903) means the pool is
		// gone; any other 404 (API Gateway's APIGW.0101 for a wrong
		// endpoint or region, a proxy) is an error to retry.
		return ReasonPoolNotFound
	}
	return ReasonELBError
}

func resolveReason(err error) string {
	switch {
	case errors.Is(err, endpoints.ErrServiceNotFound):
		return ReasonServiceNotFound
	case errors.Is(err, endpoints.ErrPortNotFound):
		return ReasonServicePortNotFound
	default:
		return ReasonEndpointsUnresolved
	}
}

// lockFailed records that the pool's lock could not be taken: the Lease
// API failed (not the ELB), unless the pass was canceled or timed out while
// waiting.
func (r *Result) lockFailed(err error) Result {
	r.fail(err)
	if r.Reason == ReasonELBError {
		return r.setOutcome(StateFailed, ReasonLockFailed, r.Message)
	}
	return *r
}

// lockLost marks a failure that happened because the pool's lock was lost
// (the held context's cause) as ReasonLockLost.
func lockLost(held context.Context, r Result) Result {
	cause := context.Cause(held)
	if r.State != StateFailed || !errors.Is(cause, poollock.ErrLost) {
		return r
	}
	return r.setOutcome(StateFailed, ReasonLockLost, cause.Error()+"; stopped writing: "+r.Message)
}

// ReasonSpecChanged: the binding's generation changed, or it was
// re-created, while the pass ran; the pass synced the spec it had read, so
// the binding as it is now is not known to be in sync.
const ReasonSpecChanged = "SpecChanged"

// SpecChanged returns r marked as not in sync because the binding changed
// underneath the pass. The counts of what the pass did stay.
func (r Result) SpecChanged(msg string) Result {
	r.setOutcome(StateFailed, ReasonSpecChanged, msg)
	r.Errors = append(append([]string(nil), r.Errors...), msg)
	return r
}
