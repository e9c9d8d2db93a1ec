// Package signals is ccictl's one receiver of SIGINT and SIGTERM: the first
// one cancels the command's context (the command then ends through ccictl's
// error path with its own exit code), a second one ends the process at once,
// as without a handler.
//
// Some of kubectl's commands run their work under kubectl's interrupt
// handler (k8s.io/kubectl/pkg/util/interrupt), which registers a channel of
// its own for SIGHUP, SIGINT, SIGTERM and SIGQUIT and calls os.Exit(1) on the
// first one. Go delivers a signal to every registered channel, so ccictl's
// registration does not keep kubectl's handler from firing. Reclaim, called
// inside such a handler's critical section, drops every registration for
// those signals (kubectl's among them) and registers ccictl's own again.
package signals

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// ErrInterrupted is the cause of a context cancelled by a signal.
var ErrInterrupted = errors.New("interrupted")

// caught are the signals ccictl ends a command on.
var caught = []os.Signal{os.Interrupt, syscall.SIGTERM}

// kubectls are the signals kubectl's interrupt handler exits on.
var kubectls = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}

var (
	mu      sync.Mutex
	current chan os.Signal // ccictl's channel while it catches signals, else nil
)

// NotifyContext returns a context cancelled (cause ErrInterrupted) by the
// first SIGINT or SIGTERM, after which those signals have their default
// action again. stop releases the signals and cancels the context.
func NotifyContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	mu.Lock()
	current = ch
	signal.Notify(ch, caught...)
	mu.Unlock()
	release := func() {
		mu.Lock()
		defer mu.Unlock()
		if current == ch {
			signal.Stop(ch)
			current = nil
		}
	}
	go func() {
		select {
		case <-ch:
			release()
			cancel(ErrInterrupted)
		case <-ctx.Done():
			release()
		}
	}()
	return ctx, func() {
		release()
		cancel(context.Canceled)
	}
}

// Reclaim takes SIGHUP, SIGINT, SIGTERM and SIGQUIT back from every other
// receiver in the process (kubectl's interrupt handler, whose os.Exit(1) is
// then unreachable) and gives SIGINT and SIGTERM to ccictl's context again
// if it still catches them; the others get their default action. A signal
// arriving during the call itself has the default action.
func Reclaim() {
	mu.Lock()
	defer mu.Unlock()
	signal.Reset(kubectls...)
	if current != nil {
		signal.Notify(current, caught...)
	}
}

// UntilDone returns fn's result, or ctx's error as soon as ctx ends (fn
// then finishes on its own and its result is dropped). It serves kubectl's
// functions that wait without a context.
func UntilDone[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		return res.v, res.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
