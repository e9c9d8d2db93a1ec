package sync

import (
	"context"
	"fmt"
	gosync "sync"
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
// does not change. Writes run --concurrency at a time; that bound, not
// client-go's 50-per-second token bucket, limits the load, since one write
// per binding behind the bucket made status the slowest part of a pass over
// many bindings (docs/performance.md).
func (o *SyncOptions) writeStatuses(ctx context.Context, in *clusterInput, results []lbsync.Result) {
	now := time.Now()
	var (
		mu       gosync.Mutex
		refused  int
		firstErr error
		wg       gosync.WaitGroup
	)
	sem := make(chan struct{}, max(o.Concurrency, 1))
	for i, u := range in.objects {
		if i >= len(results) || results[i].UID != string(u.GetUID()) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.writeStatus(ctx, in, u, results[i], now); err != nil {
				mu.Lock()
				refused++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if refused > 0 {
		fmt.Fprintf(o.ErrOut, "Warning: status not written for %d PoolBinding(s): %v\n", refused, firstErr)
	}
}

func (o *SyncOptions) writeStatus(ctx context.Context, in *clusterInput, u *unstructured.Unstructured, r lbsync.Result, now time.Time) error {
	client := in.statusDyn.Resource(in.plbGVR).Namespace(u.GetNamespace())
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
