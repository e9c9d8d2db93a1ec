package readinessgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
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

// StatusPatcher sends a strategic-merge patch to a pod's status
// subresource.
type StatusPatcher func(ctx context.Context, namespace, name string, patch []byte) error

// CorePods patches core v1 pods.
func CorePods(kube kubernetes.Interface) StatusPatcher {
	return func(ctx context.Context, ns, name string, patch []byte) error {
		_, err := kube.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		return err
	}
}

// ResourcePods patches the pods of resource pods, such as CCI 2.0's cci/v2
// pods (core v1's fields under another group/version), through the dynamic
// client. Where the platform refuses status patches the error says so per
// pod, and the binding's status carries it.
func ResourcePods(dyn dynamic.Interface, pods schema.GroupVersionResource) StatusPatcher {
	return func(ctx context.Context, ns, name string, patch []byte) error {
		_, err := dyn.Resource(pods).Namespace(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		return err
	}
}

// Apply writes patches to the status subresource of their core v1 pods
// (ApplyWith).
func Apply(ctx context.Context, kube kubernetes.Interface, patches []Patch) (ApplyResult, error) {
	return ApplyWith(ctx, CorePods(kube), patches)
}

// ApplyWith writes patches to the status subresource of their pods with
// patch, at most MaxConcurrentPatches at a time. A failed patch does not
// stop the others; the error joins one line per failed pod, naming the pod
// and the condition. Pods that are gone are counted, not errors.
func ApplyWith(ctx context.Context, patch StatusPatcher, patches []Patch) (ApplyResult, error) {
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
			gone, err := applyOne(ctx, patch, p)
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

func applyOne(ctx context.Context, patch StatusPatcher, p Patch) (gone bool, err error) {
	body, err := patchBody(p)
	if err != nil {
		return false, fmt.Errorf("pod %s/%s: encode condition %s: %w", p.Namespace, p.Name, p.Condition.Type, err)
	}
	err = patch(ctx, p.Namespace, p.Name, body)
	switch {
	case err == nil:
		return false, nil
	case podNotFound(err, p.Name), p.UID != "" && uidMismatch(err):
		return true, nil
	case refused(err):
		err = &RefusedError{Namespace: p.Namespace, Name: p.Name, Err: err}
	}
	return false, fmt.Errorf("pod %s/%s: set condition %s=%s: %w", p.Namespace, p.Name, p.Condition.Type, p.Condition.Status, err)
}

// refused: the server will not let this identity patch pod status: 403
// (RBAC, a policy), 405 (the status subresource is not writable) or a 404
// that names no pod (not served; podNotFound is checked first). CCI 2.0
// does not document whether a tenant may patch pod status.
func refused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err)
}

// RefusedError is a pod status patch the server refused (see refused):
// the gate cannot be served for this pod until that changes, which a
// retry alone does not.
type RefusedError struct {
	Namespace, Name string
	Err             error // the server's answer
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Answer is what the server answered: code, status text and message.
func (e *RefusedError) Answer() string {
	code := http.StatusInternalServerError
	var se apierrors.APIStatus
	if errors.As(e.Err, &se) {
		code = int(se.Status().Code)
	}
	return fmt.Sprintf("%d %s: %s", code, http.StatusText(code), e.Err.Error())
}

// Refusals are the refused patches among the errors of ApplyWith (err may
// wrap them and other errors, joined).
func Refusals(err error) []*RefusedError {
	switch e := err.(type) {
	case nil:
		return nil
	case *RefusedError:
		return []*RefusedError{e}
	case interface{ Unwrap() []error }:
		var out []*RefusedError
		for _, x := range e.Unwrap() {
			out = append(out, Refusals(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		return Refusals(e.Unwrap())
	}
	return nil
}

// podNotFound: the server says this pod does not exist. A 404 that names
// no object (a server or gateway that does not serve pod status, as CCI
// 2.0 might not) is an error, not a pod gone: the gate would otherwise
// never open, silently.
func podNotFound(err error, name string) bool {
	if !apierrors.IsNotFound(err) {
		return false
	}
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil {
		return false
	}
	return se.Status().Details.Name == name
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
