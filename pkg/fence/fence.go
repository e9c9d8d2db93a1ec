// Package fence keeps a writer that lost its right to write from writing.
//
// A right to write (a leadership term, a pool lock) is valid until a
// deadline measured on this process's monotonic clock from its last
// successful renewal. Cancelling a context when that deadline passes is
// not enough: a process frozen (SIGSTOP, a long pause, a stalled VM) past
// it resumes with its timers late and a write it planned before the pause
// ready to go. So every write first checks, synchronously and by the
// clock, every Guard its context carries (Check), and is sent with its
// context bounded by their earliest deadline: a request still in flight
// at the deadline is abandoned. Transport does both for every request
// that is not a read.
//
// The package does not import cobra.
package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrExpired: a write was refused because a guard of its context is no
// longer valid.
var ErrExpired = errors.New("no longer allowed to write")

// Guard is one right to write.
type Guard interface {
	// Name says what the guard is, for errors ("leader Lease ns/name").
	Name() string
	// Valid returns the instant (monotonic clock) until which writes are
	// allowed, or an error when the right ended for another reason (lost,
	// released).
	Valid() (until time.Time, err error)
}

type guardsKey struct{}

// guards is a context's chain of guards, innermost first.
type guards struct {
	g    Guard
	next *guards
}

// With returns ctx carrying g in addition to the guards ctx carries.
func With(ctx context.Context, g Guard) context.Context {
	next, _ := ctx.Value(guardsKey{}).(*guards)
	return context.WithValue(ctx, guardsKey{}, &guards{g: g, next: next})
}

// Inherit returns ctx carrying the guards of from as well (ctx keeps its
// own cancellation and deadline).
func Inherit(ctx, from context.Context) context.Context {
	var all []Guard
	for gs, _ := from.Value(guardsKey{}).(*guards); gs != nil; gs = gs.next {
		all = append(all, gs.g)
	}
	for i := len(all) - 1; i >= 0; i-- {
		ctx = With(ctx, all[i])
	}
	return ctx
}

// Check reports whether ctx's guards allow a write now: the earliest
// deadline among them (zero when ctx carries none), or an error wrapping
// ErrExpired naming the first guard that does not.
func Check(ctx context.Context) (until time.Time, err error) {
	return check(ctx, time.Now())
}

func check(ctx context.Context, now time.Time) (until time.Time, err error) {
	for gs, _ := ctx.Value(guardsKey{}).(*guards); gs != nil; gs = gs.next {
		u, err := gs.g.Valid()
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: %s: %v", ErrExpired, gs.g.Name(), err)
		}
		if !now.Before(u) {
			return time.Time{}, fmt.Errorf("%w: %s expired %v ago (this process's clock)", ErrExpired, gs.g.Name(), now.Sub(u).Round(time.Millisecond))
		}
		if until.IsZero() || u.Before(until) {
			until = u
		}
	}
	return until, nil
}

// Holds reports whether ctx carries a guard named name that is valid now.
func Holds(ctx context.Context, name string) bool {
	now := time.Now()
	for gs, _ := ctx.Value(guardsKey{}).(*guards); gs != nil; gs = gs.next {
		if gs.g.Name() != name {
			continue
		}
		u, err := gs.g.Valid()
		return err == nil && now.Before(u)
	}
	return false
}

// Transport checks the guards of each request's context before sending
// any request but GET and HEAD, refuses it when they do not allow it, and
// sends it with its context bounded by their earliest deadline. Reads pass
// unchecked: a stale read is refused at the write it would lead to.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{next}
}

type roundTripper struct{ next http.RoundTripper }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return rt.next.RoundTrip(req)
	}
	until, err := Check(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("%s %s not sent: %w", req.Method, req.URL.Path, err)
	}
	if until.IsZero() {
		return rt.next.RoundTrip(req)
	}
	ctx, cancel := context.WithDeadline(req.Context(), until)
	resp, err := rt.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	// The body is read after RoundTrip returns: cancel once it is closed.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// LeaderTerm names the guard of a leadership term of the leader Lease
// lease ("namespace/name"), as Holds looks for it.
func LeaderTerm(lease string) string { return "leader Lease " + lease }
