package syncdriver

import (
	"context"

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// Reconcile is the controller's reconcile of one binding
// (bindingcontroller.Reconciler): the pass, bounded by the config's
// Timeout, logged and counted, and what the queue should do next.
func (r *Reconciler) Reconcile(ctx context.Context, key cache.ObjectName) bindingcontroller.Outcome {
	if r.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.Timeout)
		defer cancel()
	}
	did := r.sync(ctx, key.Namespace, key.Name)
	out := r.log(ctx, key, did)
	if out.Err != nil && did.Result != nil && r.cfg.RetryAfter != nil {
		// The ELB asked to wait (Retry-After): the binding comes back
		// then, through the queue, not sooner (capped like a backoff).
		if wait := min(r.cfg.RetryAfter(did.Result.PoolID), r.cfg.MaxBackoff); wait > out.RequeueAfter {
			out.RequeueAfter = wait
		}
	}
	return out
}

// log logs a reconcile that changed something or did not converge (a
// quiet resync logs nothing), counts its members, and turns it into the
// queue's outcome.
func (r *Reconciler) log(ctx context.Context, key cache.ObjectName, did reconciled) bindingcontroller.Outcome {
	logger := klog.FromContext(ctx)
	out := bindingcontroller.Outcome{Err: did.Err, RequeueAfter: did.RequeueAfter}
	if did.Result == nil {
		if did.Err != nil {
			logger.Info("Reconcile failed", "error", redact.Error(did.Err).Error())
		}
		return out
	}
	res := did.Result
	out.Result = res.State
	m := r.cfg.Metrics
	m.ObserveMembers(key.String(), "registered", res.Registered)
	m.ObserveMembers(key.String(), "desired", res.Desired)
	m.ObserveMembers(key.String(), "foreign", res.Foreign)
	if res.State != poolsync.StateInSync || did.Err != nil || did.Gates > 0 {
		// The controller's logger already names the binding (poolbinding=).
		kv := []any{"state", res.State, "reason", res.Reason, "added", res.Added, "removed", res.Removed}
		if did.Gates > 0 {
			kv = append(kv, "gatesSet", did.Gates)
		}
		if did.Err != nil {
			kv = append(kv, "error", redact.Error(did.Err).Error())
		}
		logger.Info(res.Line(), kv...)
		// The pass's warnings, as the one-shot pass prints them on stderr
		// (e.g. a weight-0 drain on a pool without connection_drain).
		for _, w := range res.Warnings {
			logger.Info("Warning: " + redact.String(w))
		}
	}
	if did.GateErr != nil {
		logger.Info("Readiness gates not served", "error", redact.Error(did.GateErr).Error())
	}
	return out
}
