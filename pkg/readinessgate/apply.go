package readinessgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	plbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
)

// MaxConcurrentPatches bounds the pod status patches Apply has in flight.
const MaxConcurrentPatches = 8

// patchBody is the strategic-merge patch of one condition: status.conditions
// merges by type, so only the named condition is written, on the server's
// current object; metadata.uid makes the patch fail for another pod of the
// same name.
func patchBody(p Patch) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": p.UID},
		"status":   map[string]any{"conditions": []corev1.PodCondition{p.Condition}},
	})
}

// ApplyResult counts what Apply did.
type ApplyResult struct {
	// Patched pods had their condition written.
	Patched int
	// Gone pods were deleted, or re-created under the same name, before
	// the patch: there is nothing to gate (the new pod gets its own
	// decision on the next pass).
	Gone int
}

// Apply writes patches to the status subresource of their pods, at most
// MaxConcurrentPatches at a time. A failed patch does not stop the others;
// the error joins one line per failed pod, naming the pod and the
// condition. Pods that are gone are counted, not errors.
func Apply(ctx context.Context, kube kubernetes.Interface, patches []Patch) (ApplyResult, error) {
	var (
		mu   sync.Mutex
		res  ApplyResult
		errs = make([]error, len(patches))
		sem  = make(chan struct{}, MaxConcurrentPatches)
		wg   sync.WaitGroup
	)
	for i, p := range patches {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = fmt.Errorf("pod %s/%s: condition %s not set: %w", p.Namespace, p.Name, p.Condition.Type, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			gone, err := applyOne(ctx, kube, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs[i] = err
			case gone:
				res.Gone++
			default:
				res.Patched++
			}
		}()
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

func applyOne(ctx context.Context, kube kubernetes.Interface, p Patch) (gone bool, err error) {
	body, err := patchBody(p)
	if err != nil {
		return false, fmt.Errorf("pod %s/%s: encode condition %s: %w", p.Namespace, p.Name, p.Condition.Type, err)
	}
	_, err = kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	switch {
	case err == nil:
		return false, nil
	case apierrors.IsNotFound(err), p.UID != "" && uidMismatch(err):
		return true, nil
	default:
		return false, fmt.Errorf("pod %s/%s: set condition %s=%s: %w", p.Namespace, p.Name, p.Condition.Type, p.Condition.Status, err)
	}
}

// uidMismatch: the server refused the patch because the pod's UID is not
// the one in the patch (the pod was re-created).
func uidMismatch(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsInvalid(err) && isUIDField(err)
}

func isUIDField(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return false
	}
	for _, c := range se.Status().Details.Causes {
		if c.Field == "metadata.uid" {
			return true
		}
	}
	return false
}

// Update is one gate pass of the binding b: the gated pods among pods that
// b's Service svc selects (Targets), the decision against the pool's
// members as one ListMembers call returned them (Compute), and the
// changed conditions written (Apply). The caller polls again after
// PollInterval while the returned Result is Pending. A binding being
// deleted (deletionTimestamp set) opens the gates it still holds closed
// instead (Release), so its pods are not left NotReady.
func Update(ctx context.Context, kube kubernetes.Interface, b *plbv1.PoolBinding, svc *corev1.Service, pods []corev1.Pod,
	members []elb.Member, now time.Time) (Result, ApplyResult, error) {
	targets, err := Targets(b.Name, svc, b.Spec.TargetRef.Port, pods)
	if err != nil {
		return Result{}, ApplyResult{}, fmt.Errorf("readiness gates of PoolBinding %s/%s: %w", b.Namespace, b.Name, err)
	}
	var res Result
	if b.DeletionTimestamp != nil {
		res.Patches = Release(b.Name, targets, now)
	} else {
		res = Compute(b.Name, b.Spec.PoolRef.ID, targets, members, now)
	}
	ar, err := Apply(ctx, kube, res.Patches)
	if err != nil {
		err = fmt.Errorf("readiness gates of PoolBinding %s/%s: %w", b.Namespace, b.Name, err)
	}
	return res, ar, err
}
