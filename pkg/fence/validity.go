package fence

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Validity is a Guard renewed from outside: valid for Within after the
// last Renewed instant, until Ended. A leadership term is one: each
// successful renewal of the leader Lease moves it on.
type Validity struct {
	name   string
	within time.Duration
	clock  clock.Clock

	mu      sync.Mutex
	renewed time.Time // zero: never valid
	ended   error
	changed chan struct{} // closed and replaced on every change
}

// NewValidity returns a Validity named name that is not valid until
// Renewed. clk nil is the real clock.
func NewValidity(name string, within time.Duration, clk clock.Clock) *Validity {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Validity{name: name, within: within, clock: clk, changed: make(chan struct{})}
}

// Name implements Guard.
func (v *Validity) Name() string { return v.name }

// Valid implements Guard.
func (v *Validity) Valid() (time.Time, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended != nil {
		return time.Time{}, v.ended
	}
	if v.renewed.IsZero() {
		return time.Time{}, errors.New("never acquired")
	}
	return v.renewed.Add(v.within), nil
}

// Renewed records a successful renewal that was sent at at (take the time
// before sending: the holder's deadline must not be later than what others
// count from). An earlier instant than the last one is ignored, and so is
// any after End.
func (v *Validity) Renewed(at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended != nil || !at.After(v.renewed) {
		return
	}
	v.renewed = at
	v.notify()
}

// End ends the validity for good (err says why).
func (v *Validity) End(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended == nil {
		v.ended = err
		v.notify()
	}
}

func (v *Validity) notify() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// Check is Check(ctx) for this guard alone, by its own clock.
func (v *Validity) Check() error {
	ctx := With(context.Background(), v)
	_, err := check(ctx, v.clock.Now())
	return err
}

// Bound returns a context carrying v that is cancelled, with the reason
// as its cause, when v expires or ends, or when parent is. The timer is
// a backstop: after a pause it fires late, and Check is what refuses a
// write on time.
func (v *Validity) Bound(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(With(parent, v))
	go func() {
		for {
			v.mu.Lock()
			changed := v.changed
			v.mu.Unlock()
			if err := v.Check(); err != nil {
				cancel(err)
				return
			}
			until, _ := v.Valid()
			t := v.clock.NewTimer(until.Sub(v.clock.Now()))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-changed:
				t.Stop()
			case <-t.C():
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
