package bindingstatus

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// SetCondition writes one condition of a binding's status outside a pass
// (what a step after the pass found, such as refused readiness-gate
// patches): cond set, or the condition of type condType removed when cond
// is nil. It reads the binding first and writes only when the condition
// differs (status, reason or message; lastTransitionTime kept while the
// status is the same), retrying on conflicts, so the pass's own status
// writes and this one never undo each other. A binding gone, or re-created
// under its name (another uid), is left alone.
func SetCondition(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string, uid types.UID,
	condType string, cond *metav1.Condition) error {
	res := client.Resource(gvr).Namespace(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := res.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.GetUID() != uid {
			return nil
		}
		var b lbv1.PoolBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &b); err != nil {
			return err
		}
		old := meta.FindStatusCondition(b.Status.Conditions, condType)
		switch {
		case cond == nil && old == nil:
			return nil
		case cond == nil:
			meta.RemoveStatusCondition(&b.Status.Conditions, condType)
		case old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message:
			return nil
		default:
			c := *cond
			c.Type, c.ObservedGeneration = condType, b.Generation
			if c.LastTransitionTime.IsZero() {
				c.LastTransitionTime = metav1.Now()
			}
			meta.SetStatusCondition(&b.Status.Conditions, c)
		}
		st, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&b.Status)
		if err != nil {
			return err
		}
		cur.Object["status"] = st
		_, err = res.UpdateStatus(ctx, cur, metav1.UpdateOptions{FieldManager: "ccictl-sync"})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
