package sync

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	lbsync "github.com/openvessel/ccictl/pkg/sync"
)

// writeStatuses records each result on its binding through the status
// subresource. It is best effort: a server that refuses status writes (CCI
// may not offer the subresource) gets one warning, and the pass's outcome
// does not change.
func (o *SyncOptions) writeStatuses(ctx context.Context, in *clusterInput, results []lbsync.Result) {
	now := time.Now()
	refused := 0
	var firstErr error
	for i, u := range in.objects {
		if i >= len(results) || results[i].UID != string(u.GetUID()) {
			continue
		}
		err := o.writeStatus(ctx, in, u, results[i], now)
		if err != nil {
			refused++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if refused > 0 {
		fmt.Fprintf(o.ErrOut, "Warning: status not written for %d PoolBinding(s): %v\n", refused, firstErr)
	}
}

func (o *SyncOptions) writeStatus(ctx context.Context, in *clusterInput, u *unstructured.Unstructured, r lbsync.Result, now time.Time) error {
	client := in.dyn.Resource(in.plbGVR).Namespace(u.GetNamespace())
	cur := u
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var b lbv1.PoolBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &b); err != nil {
			return err
		}
		st := lbsync.Status(&b, r, now)
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		next.Object["status"] = m
		_, err = client.UpdateStatus(ctx, next, metav1.UpdateOptions{FieldManager: "ccictl-sync"})
		if apierrors.IsConflict(err) {
			fresh, gerr := client.Get(ctx, u.GetName(), metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			if fresh.GetUID() != u.GetUID() {
				return fmt.Errorf("PoolBinding %s/%s was re-created during the pass", u.GetNamespace(), u.GetName())
			}
			cur = fresh
		}
		return err
	})
}
