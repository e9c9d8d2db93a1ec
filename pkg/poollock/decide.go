package poollock

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

type action int

const (
	wait action = iota
	take
)

// observation is what a waiting writer knows about the Lease: the record
// it last saw and when (its own clock) that record last changed.
type observation struct {
	resourceVersion string
	at              time.Time
}

func (o observation) update(l *coordinationv1.Lease, now time.Time) observation {
	if l.ResourceVersion != o.resourceVersion {
		return observation{resourceVersion: l.ResourceVersion, at: now}
	}
	return o
}

// decide says whether the Lease can be taken now: it is free (no holder),
// ours already, or its holder has not renewed it for a full duration as seen
// by this writer (the Lease's own duration, or fallback when it has none).
// The holder's renew time is not compared with this machine's clock, so
// clock skew cannot hand out a Lease that is still held.
func decide(l *coordinationv1.Lease, me string, seen observation, fallback time.Duration, now time.Time) action {
	h := holderOf(l)
	if h == "" || h == me {
		return take
	}
	d := fallback
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	if !seen.at.IsZero() && now.Sub(seen.at) >= d {
		return take
	}
	return wait
}

func holderOf(l *coordinationv1.Lease) string {
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func renewTimeOf(l *coordinationv1.Lease) time.Time {
	if l == nil || l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}
