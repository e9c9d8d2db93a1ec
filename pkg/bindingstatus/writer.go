// Package bindingstatus writes the outcome of a sync pass into each
// PoolBinding's status subresource: under the pool's lock (as the executor's
// Record hook), with the generation the pass used, through an interruption
// with a short grace, and saying which writes failed. One-shot `ccictl sync`
// and the watch-mode controller share it. It does not import cobra.
package bindingstatus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/fence"
	"github.com/openvessel/ccictl/pkg/poolsync"
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
	var mu sync.Mutex
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

// Writer records each binding's result on it through the status
// subresource, called by the executor (poolsync.Options.Record) while the
// binding's pool lock is still held: a pass that finished earlier cannot
// overwrite the status of a later pass on the same pool, whatever the
// clocks say. A binding whose generation changed, or that was re-created,
// during the pass gets reason SpecChanged (in results too, so the pass
// exits 1). The executor's --concurrency bound, not client-go's
// 50-per-second token bucket, limits the load, since one write per binding
// behind the bucket made status the slowest part of a pass over many
// bindings (docs/performance.md).
type Writer struct {
	client dynamic.Interface
	gvr    schema.GroupVersionResource
	errOut io.Writer
	ctx    context.Context
	cancel context.CancelFunc
	now    time.Time
	byUID  map[string]*unstructured.Unstructured

	mu sync.Mutex
	// failed: writes that failed, so the status may claim what this pass
	// did not find; unserved: the server offers no status subresource
	// (CCI may not) or the binding is gone, which leaves nothing stale.
	failed, unserved []string
	lastErr          error
}

// New returns the Writer of one pass over objects (the selected bindings,
// as read), writing through client (which should not be rate-limited on
// the client side: the executor bounds the writes in flight) to resource
// gvr, and reporting failed writes on errOut. Call Finish when the pass
// is over.
func New(pass context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, objects []*unstructured.Unstructured, errOut io.Writer) *Writer {
	ctx, cancel := statusContext(pass)
	w := &Writer{client: client, gvr: gvr, errOut: errOut, ctx: ctx, cancel: cancel, now: time.Now(),
		byUID: make(map[string]*unstructured.Unstructured, len(objects))}
	for _, u := range objects {
		w.byUID[string(u.GetUID())] = u
	}
	return w
}

// Record is poolsync.Options.Record. The result is masked before it is
// written: a status is readable by anyone who can read PoolBindings. The
// write is made under the writer's context, carrying the fence guards of
// ctx (the pool lock's, the leadership term's): a client built with
// fence.Transport refuses it when they no longer allow writing.
func (w *Writer) Record(ctx context.Context, _ poolsync.Target, r *poolsync.Result) {
	u := w.byUID[r.UID]
	if u == nil || r.Reason == poolsync.ReasonBusy {
		// Busy: the holder of the pool's lock writes this binding's status.
		return
	}
	r.Mask()
	err := w.write(fence.Inherit(w.ctx, ctx), u, r)
	if err == nil {
		return
	}
	name := u.GetNamespace() + "/" + u.GetName()
	w.mu.Lock()
	defer w.mu.Unlock()
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		w.unserved = append(w.unserved, name)
	} else {
		w.failed = append(w.failed, name)
	}
	w.lastErr = err
}

// Finish ends the writes and reports the failed ones on stderr. It returns
// an error when a status could not be written for a reason other than the
// server not offering it: the binding's status may then say Synced=True
// from an earlier pass while this one was not, and a pipeline that waits on
// that condition would trust it, so the pass must not exit 0.
func (w *Writer) Finish() error {
	defer w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	all := append(append([]string(nil), w.failed...), w.unserved...)
	if len(all) == 0 {
		return nil
	}
	names := strings.Join(all[:min(len(all), 5)], ", ")
	if len(all) > 5 {
		names += fmt.Sprintf(" and %d more", len(all)-5)
	}
	lastErr := w.lastErr
	if cause := context.Cause(w.ctx); cause != nil {
		lastErr = fmt.Errorf("%w (%v)", lastErr, cause)
	}
	fmt.Fprintf(w.errOut, "Warning: status not written for %d PoolBinding(s) (%s): %v\n", len(all), names, redact.Error(lastErr))
	if len(w.failed) == 0 {
		return nil
	}
	return &NotWrittenError{Count: len(w.failed)}
}

// NotWrittenError: some statuses could not be written (not for want of a
// status subresource), so they may be stale.
type NotWrittenError struct{ Count int }

func (e *NotWrittenError) Error() string {
	return fmt.Sprintf("the status of %d PoolBinding(s) was not written and may be stale (pass --no-status where status writes are not wanted)", e.Count)
}

// write writes r to u's status, re-reading u on a conflict. The
// observedGeneration written is always u's generation, the one whose spec
// the pass used, whatever the re-read shows.
func (w *Writer) write(ctx context.Context, u *unstructured.Unstructured, r *poolsync.Result) error {
	now := w.now
	client := w.client.Resource(w.gvr).Namespace(u.GetNamespace())
	used := u.GetGeneration()
	cur := u
	attempt := func() error {
		var b lbv1.PoolBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &b); err != nil {
			return err
		}
		if b.Generation != used && r.Reason != poolsync.ReasonSpecChanged {
			*r = r.SpecChanged(fmt.Sprintf("the binding changed during the pass (generation %d, now %d); this pass synced generation %d", used, b.Generation, used))
		}
		b.Generation = used
		st := Status(&b, *r, now)
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
