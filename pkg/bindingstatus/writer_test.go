package bindingstatus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The status context outlives the pass's cancellation by statusGrace, and
// no longer.
func TestStatusContextGrace(t *testing.T) {
	old := statusGrace
	statusGrace = 200 * time.Millisecond
	defer func() { statusGrace = old }()

	pass, cancelPass := context.WithCancel(context.Background())
	ctx, done := statusContext(pass)
	defer done()
	time.Sleep(50 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("status context ended while the pass runs")
	}
	cancelPass()
	time.Sleep(50 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("status context ended with the pass; interrupted passes could not record their outcome")
	}
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("status context never ended after the grace period")
	}
	if !errors.Is(context.Cause(ctx), errStatusGrace) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
}

// A pass that ends normally releases the status context without waiting.
func TestStatusContextDone(t *testing.T) {
	ctx, done := statusContext(context.Background())
	done()
	if ctx.Err() == nil {
		t.Fatal("done did not end the status context")
	}
}
