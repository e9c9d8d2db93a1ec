package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client/redact"
	lbsync "github.com/openvessel/ccictl/pkg/sync"
)

// statusGrace is how long status writes may still take once the pass was
// interrupted (Ctrl-C, SIGTERM, --timeout): long enough for one round of
// writes on a healthy API server, short enough that an interrupted pass
// ends promptly. A second Ctrl-C ends the process at once.
var statusGrace = 10 * time.Second

var errStatusGrace = errors.New("status writes took longer than the grace period after the pass was interrupted")

// statusContext returns the context for the status writes: not canceled
// with the pass, so that an interrupted pass still records Canceled or
// Timeout instead of leaving an earlier Synced=True, but given statusGrace
// from the moment the pass ends.
func statusContext(pass context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(pass))
	var timer *time.Timer
	var mu gosync.Mutex
	stop := context.AfterFunc(pass, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(statusGrace, func() { cancel(errStatusGrace) })
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
}

// writeStatuses records each result on its binding through the status
// subresource. A server that refuses status writes (CCI may not offer the
// subresource) does not change the pass's outcome, but every write that
// fails is reported on stderr. A binding whose generation changed, or that
// was re-created, during the pass gets reason SpecChanged (in results too,
// so the pass exits 1). Writes run --concurrency at a time; that bound, not
// client-go's 50-per-second token bucket, limits the load, since one write
// per binding behind the bucket made status the slowest part of a pass over
// many bindings (docs/performance.md).
func (o *SyncOptions) writeStatuses(pass context.Context, in *clusterInput, results []lbsync.Result) {
	ctx, cancel := statusContext(pass)
	defer cancel()
	now := time.Now()
	var (
		mu      gosync.Mutex
		failed  []string
		lastErr error
		wg      gosync.WaitGroup
	)
	sem := make(chan struct{}, max(o.Concurrency, 1))
	for i, u := range in.objects {
		if i >= len(results) || results[i].UID != string(u.GetUID()) {
			continue
		}
		if results[i].Reason == lbsync.ReasonBusy {
			// The holder of the pool's lock writes this binding's status;
			// ours, written at any moment, could overwrite its newer one.
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.writeStatus(ctx, in, u, &results[i], now); err != nil {
				mu.Lock()
				failed = append(failed, u.GetNamespace()+"/"+u.GetName())
				lastErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return
	}
	names := strings.Join(failed[:min(len(failed), 5)], ", ")
	if len(failed) > 5 {
		names += fmt.Sprintf(" and %d more", len(failed)-5)
	}
	if cause := context.Cause(ctx); cause != nil {
		lastErr = fmt.Errorf("%w (%v)", lastErr, cause)
	}
	fmt.Fprintf(o.ErrOut, "Warning: status not written for %d PoolBinding(s) (%s): %v\n", len(failed), names, redact.Error(lastErr))
}

// writeStatus writes r to u's status, re-reading u on a conflict. The
// observedGeneration written is always u's generation, the one whose spec
// the pass used, whatever the re-read shows.
func (o *SyncOptions) writeStatus(ctx context.Context, in *clusterInput, u *unstructured.Unstructured, r *lbsync.Result, now time.Time) error {
	client := in.statusDyn.Resource(in.plbGVR).Namespace(u.GetNamespace())
	used := u.GetGeneration()
	cur := u
	attempt := func() error {
		var b lbv1.PoolBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &b); err != nil {
			return err
		}
		if b.Generation != used && r.Reason != lbsync.ReasonSpecChanged {
			*r = r.SpecChanged(fmt.Sprintf("the binding changed during the pass (generation %d, now %d); this pass synced generation %d", used, b.Generation, used))
		}
		b.Generation = used
		st := lbsync.Status(&b, *r, now)
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		next.Object["status"] = m
		_, err = client.UpdateStatus(ctx, next, metav1.UpdateOptions{FieldManager: "ccictl-sync"})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := client.Get(ctx, u.GetName(), metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if fresh.GetUID() != u.GetUID() {
			// Another object under the same name: this pass's outcome is not
			// its status, and the name is not in sync with its new spec.
			*r = r.SpecChanged("the PoolBinding was deleted and re-created during the pass; its new spec was not synced")
			return nil
		}
		cur = fresh
		return err
	}
	// OnError turns a non-conflict error into nil when it is a context error
	// (it reads those as its own interruption), so keep the attempt's own
	// result: a failed write must never pass for a written status.
	var last error
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		last = attempt()
		return last
	})
	if err == nil {
		err = last
	}
	return err
}
