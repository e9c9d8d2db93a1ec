package poollock

import (
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func lease(holder string, secs int32, rv string, renewed time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
	if holder != "-" {
		l.Spec.HolderIdentity = &holder
	}
	if secs > 0 {
		l.Spec.LeaseDurationSeconds = &secs
	}
	rt := metav1.NewMicroTime(renewed)
	l.Spec.RenewTime = &rt
	return l
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	far := t0.Add(-24 * time.Hour) // a renew time far in this machine's past
	for _, tc := range []struct {
		name   string
		l      *coordinationv1.Lease
		seenAt time.Time // when the current record was first seen
		now    time.Time
		want   action
	}{
		{"no holder field", lease("-", 30, "1", t0), t0, t0, take},
		{"released (empty holder)", lease("", 1, "1", t0), t0, t0, take},
		{"ours", lease("me", 30, "1", t0), t0, t0, take},
		{"held, just seen", lease("other", 30, "1", t0), t0, t0.Add(time.Second), wait},
		{"held, seen unchanged for less than its duration", lease("other", 30, "1", t0), t0, t0.Add(29 * time.Second), wait},
		{"held, unchanged for its duration: expired", lease("other", 30, "1", t0), t0, t0.Add(30 * time.Second), take},
		// The holder's clock says it renewed a day ago; ours is not trusted
		// against it: only an unchanged record for a full duration counts.
		{"old renew time from a skewed clock, just seen", lease("other", 30, "1", far), t0, t0, wait},
		{"no duration: the fallback applies", lease("other", 0, "1", t0), t0, t0.Add(10 * time.Second), wait},
		{"no duration, fallback passed", lease("other", 0, "1", t0), t0, t0.Add(20 * time.Second), take},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := observation{resourceVersion: tc.l.ResourceVersion, at: tc.seenAt}
			if got := decide(tc.l, "me", seen, 20*time.Second, tc.now); got != tc.want {
				t.Errorf("decide = %v, want %v", got, tc.want)
			}
		})
	}
}

// A renewal (new resourceVersion) restarts the expiry clock of a waiter.
func TestObservationRestartsOnChange(t *testing.T) {
	t0 := time.Now()
	var o observation
	o = o.update(lease("other", 30, "1", t0), t0)
	o = o.update(lease("other", 30, "1", t0), t0.Add(20*time.Second))
	if !o.at.Equal(t0) {
		t.Fatalf("unchanged record moved the observation: %v", o.at)
	}
	o = o.update(lease("other", 30, "2", t0), t0.Add(25*time.Second))
	if got := decide(lease("other", 30, "2", t0), "me", o, 0, t0.Add(40*time.Second)); got != wait {
		t.Fatal("a Lease renewed 15s ago (by our clock) was taken")
	}
}

func TestErrors(t *testing.T) {
	b := &BusyError{Lease: "ns/ccictl-pool-x", Holder: "ccictl/host/1/ab", Renewed: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !errors.Is(b, ErrBusy) || !strings.Contains(b.Error(), "ccictl/host/1/ab") || !strings.Contains(b.Error(), "ns/ccictl-pool-x") {
		t.Errorf("busy: %v", b)
	}
	u := &UnavailableError{Err: errors.New("forbidden")}
	if !errors.Is(u, ErrUnavailable) || errors.Unwrap(u).Error() != "forbidden" {
		t.Errorf("unavailable: %v", u)
	}
}

func TestLeaseNameAndIdentity(t *testing.T) {
	if got := LeaseName("e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1"); got != "ccictl-pool-e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1" {
		t.Errorf("LeaseName = %q", got)
	}
	a, b := NewIdentity(), NewIdentity()
	if a == b || !strings.HasPrefix(a, "ccictl/") {
		t.Errorf("identities %q %q: want distinct, ccictl/ prefixed", a, b)
	}
}
