package syncdriver

// The controller's per-binding reconcile: the same pipeline as the one-shot
// pass (pkg/bindingsource to resolve, pkg/poolsync to plan and write,
// pkg/bindingstatus to record), read from the controller's caches instead
// of lists, plus what only a continuous controller does: the finalizer
// that removes a deleted binding's members, readiness gates, and Events.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/bindingstatus"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

// ReconcilerConfig is what a Reconciler reads and writes with.
type ReconcilerConfig struct {
	// Binding returns a binding from the controller's cache (nil when it
	// is gone); PoolBindings the cached bindings whose poolRef.id is a
	// pool's (selected or not); HasBinding whether a binding with a uid is
	// cached. All read only, and answered from indexes: every pass asks.
	Binding      func(namespace, name string) (*lbv1.PoolBinding, error)
	PoolBindings func(poolID string) ([]*lbv1.PoolBinding, error)
	HasBinding   func(uid string) bool
	// Namespaces the controller watches (nil = every namespace): members
	// of bindings elsewhere are never taken for orphans.
	Namespaces []string
	// Store and Mapper resolve targets (bindingsource); SubnetOverride is
	// --subnet-id.
	Store          bindingsource.Store
	Mapper         meta.RESTMapper
	SubnetOverride string
	// ELB returns the client of a region ("" = the controller's own).
	ELB func(ctx context.Context, region string) (elb.Client, error)
	// OwnRegion is the controller's own region, when it has a name.
	OwnRegion string
	// Policy is the pass's policy (the sync flags and the cluster
	// identity); Locker takes the pools' locks and Warn receives the
	// notices about the whole controller (the pass's Hooks are made per
	// reconcile with these two and what the reconcile read).
	Policy poolsync.Policy
	Locker poollock.Locker
	Warn   func(string)
	// ResyncPeriod bounds how long gate polls may stand in for full
	// passes (0: every reconcile is a full pass).
	ResyncPeriod time.Duration
	// Kube patches the readiness-gate conditions of pods (nil: gates are
	// not served).
	Kube kubernetes.Interface
	// PodStatus, if set, patches the pods' status instead of Kube's core
	// v1 pods (CCI 2.0 serves pods as cci/v2 only).
	PodStatus readinessgate.StatusPatcher
	// GateLatency, if set, is told how long a gate took from False to True.
	GateLatency func(time.Duration)
	// Dynamic writes statuses and finalizers of PoolBindings (resource
	// GVR).
	Dynamic dynamic.Interface
	GVR     schema.GroupVersionResource
	// NoStatus leaves statuses alone (--no-status).
	NoStatus bool
	// LockNamespace is where the pass takes pool locks (--lock-namespace;
	// "" = each binding's namespace): written on each binding, with the
	// finalizer, as lbv1.LockNamespaceAnnotation, for one-shot passes to
	// take the same locks.
	LockNamespace string
	// ControllerID is written with the finalizer as
	// lbv1.ControllerAnnotation ("" = not written): the controller that
	// finalized a binding finishes its deletion.
	ControllerID string
	// Recorder receives the Events on PoolBindings (nil = none).
	Recorder record.EventRecorder
	// Log receives status-write notices (nil = discarded).
	Log io.Writer
	// Timeout bounds each reconcile (--timeout; 0 = none), so that no
	// binding keeps a worker for long (lock waits, health rounds, a slow
	// ELB).
	Timeout time.Duration
	// RetryAfter, if set, is how long the ELB last asked not to call a pool
	// again (its Retry-After); a failed reconcile of a binding of that pool
	// comes back after it, capped at MaxBackoff.
	RetryAfter func(poolID string) time.Duration
	MaxBackoff time.Duration
	// Metrics, if set, receives each binding's member counts.
	Metrics *bindingcontroller.Metrics
}

// Reconciler syncs one binding per call; calls for different bindings may
// run concurrently.
type Reconciler struct {
	cfg ReconcilerConfig

	mu   sync.Mutex
	last map[string]lastPass
	// quota holds, per region, the policy with a member-quota cache shared
	// by the passes of one resync period (poolsync.ShareQuota).
	quota map[string]sharedQuota
}

type sharedQuota struct {
	opts poolsync.Options
	at   time.Time
}

// policy is the pass's policy for a pool in region, with the member quota
// read at most once per resync period there.
func (r *Reconciler) policy(region string) poolsync.Options {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.quota[region]
	if !ok || time.Since(q.at) >= r.cfg.ResyncPeriod {
		if r.quota == nil {
			r.quota = map[string]sharedQuota{}
		}
		q = sharedQuota{opts: poolsync.ShareQuota(poolsync.Options{Policy: r.cfg.Policy, Hooks: poolsync.Hooks{Warn: r.cfg.Warn}}), at: time.Now()}
		r.quota[region] = q
	}
	return q.opts
}

// lastPass is what the last full pass of a binding saw and left: while its
// readiness gates are pending and its inputs have not changed, a poll reads
// the pool's health only (one member list), not the whole pass again.
type lastPass struct {
	inputs       string
	at           time.Time
	result       poolsync.Result
	gatesPending bool
}

// NewReconciler returns a Reconciler; Driver.NewController builds its
// config from what the driver built.
func NewReconciler(cfg ReconcilerConfig) *Reconciler {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	return &Reconciler{cfg: cfg}
}

// reconciled is what one reconcile did, for the log and the metrics
// (Reconcile turns it into the queue's bindingcontroller.Outcome). Result
// is nil when there was nothing to sync (the binding is gone).
type reconciled struct {
	Result *poolsync.Result
	// Err says the reconcile should be retried with backoff.
	Err error
	// RequeueAfter > 0: readiness gates are pending; poll the pool's
	// health again after this long.
	RequeueAfter time.Duration
	// Gates counts the gate conditions this reconcile wrote.
	Gates int
	// GateErr says why readiness gates could not be served. It fails
	// neither the pass nor a deletion: gates are an optional step, told in
	// a Warning Event (ReadinessGatesFailed) and the log, and, when the
	// server refused the patches, in the binding's status (recordGates).
	GateErr error
}

// ReasonGatesFailed is the reason of the Warning Event of a binding whose
// readiness gates could not be served.
const ReasonGatesFailed = "ReadinessGatesFailed"

// sync syncs the binding namespace/name from the caches: a live one gets
// the finalizer and a pass; a deleted one has its owned members removed
// and then loses the finalizer.
func (r *Reconciler) sync(ctx context.Context, namespace, name string) reconciled {
	b, err := r.cfg.Binding(namespace, name)
	if err != nil {
		return reconciled{Err: err}
	}
	if b == nil {
		r.forget(namespace + "/" + name)
		return reconciled{}
	}
	u, err := toUnstructured(b)
	if err != nil {
		return reconciled{Err: err}
	}
	if u.GetDeletionTimestamp() != nil {
		if !slices.Contains(u.GetFinalizers(), lbv1.MembersFinalizer) {
			return reconciled{}
		}
		r.forget(namespace + "/" + name)
		return r.cleanup(ctx, u, b)
	}
	if u, err = r.claim(ctx, u, b); err != nil {
		return reconciled{Err: err}
	}
	res := bindingsource.NewResolver(r.cfg.Mapper, r.cfg.Store, r.cfg.SubnetOverride)
	t := res.Target(ctx, b)
	peers, owners, err := r.peers(ctx, res, b)
	if err != nil {
		return reconciled{Err: err}
	}
	c, err := r.cfg.ELB(ctx, r.region(b))
	if err != nil {
		return reconciled{Err: err}
	}
	key, inputs := namespace+"/"+name, fingerprint(b, t, peers)
	if prev, ok := r.previous(key); ok && prev.gatesPending && prev.inputs == inputs && prev.result.InSync() &&
		time.Since(prev.at) < r.cfg.ResyncPeriod {
		// Nothing the pass reads changed since it converged: poll the gates.
		quiet := prev.result.Quiet()
		out := reconciled{Result: &quiet}
		out.GateErr = r.gates(ctx, res, b, c, &out)
		if out.GateErr != nil {
			r.warn(u, ReasonGatesFailed, out.GateErr.Error())
		}
		r.recordGates(ctx, b, out.GateErr)
		r.remember(key, lastPass{inputs: inputs, at: prev.at, result: prev.result, gatesPending: out.RequeueAfter > 0})
		return out
	}
	opts := r.policy(r.region(b))
	opts.Hooks = r.hooks(owners)
	opts.ReadOwners = func(context.Context) (poolsync.OwnerLookup, error) { return r.owners(), nil }
	opts.ReadDesired = func(ctx context.Context, t poolsync.Target) ([]poolsync.Endpoint, error) {
		return res.Reread(ctx, r.cfg.Store, t.Binding, t.PortProtocol)
	}
	var status *bindingstatus.Writer
	if !r.cfg.NoStatus && !opts.DryRun {
		status = bindingstatus.New(ctx, r.cfg.Dynamic, r.cfg.GVR, []*unstructured.Unstructured{u}, r.cfg.Log)
		opts.Record = status.Record
	}
	result := poolsync.SyncAmong(ctx, c, t, peers, opts)
	result.Mask()
	var statusErr error
	if status != nil {
		statusErr = status.Finish()
	}
	r.event(u, result)
	out := reconciled{Result: &result}
	if out.GateErr = r.gates(ctx, res, b, c, &out); out.GateErr != nil {
		r.warn(u, ReasonGatesFailed, out.GateErr.Error())
	}
	r.recordGates(ctx, b, out.GateErr)
	r.remember(key, lastPass{inputs: inputs, at: time.Now(), result: result, gatesPending: out.RequeueAfter > 0})
	switch {
	case statusErr != nil:
		out.Err = statusErr
	case result.State == poolsync.StateFailed:
		out.Err = errors.New(result.Line())
	}
	if result.Reason == poolsync.ReasonBusy && out.RequeueAfter == 0 {
		// Another writer holds the pool's lock: ask again soon, through
		// the queue, as a waiting Lock would have polled.
		out.RequeueAfter = BusyRetry
	}
	return out
}

// claim makes the binding this controller's before its pass: the
// finalizer, the lock-namespace and controller annotations, patched only
// when one is missing or stale. It returns the object to go on with.
func (r *Reconciler) claim(ctx context.Context, u *unstructured.Unstructured, b *lbv1.PoolBinding) (*unstructured.Unstructured, error) {
	ann := u.GetAnnotations()
	fin := !slices.Contains(u.GetFinalizers(), lbv1.MembersFinalizer)
	lockNS := ann[lbv1.LockNamespaceAnnotation] != r.cfg.LockNamespace
	ctl := r.cfg.ControllerID != "" && ann[lbv1.ControllerAnnotation] != r.cfg.ControllerID
	if fin || lockNS || ctl {
		// The finalizer before the first member: a binding deleted later
		// always has its members removed first; and where this controller
		// takes the pool's lock, before its first write. The pass goes on
		// with the object the patch returned: the cached one is now a
		// version behind, and its status write would be a conflict and a
		// re-read.
		var finalizers []string
		if fin {
			finalizers = append(slices.Clone(u.GetFinalizers()), lbv1.MembersFinalizer)
		}
		var lockAt any // JSON null: a merge patch removes the annotation
		if r.cfg.LockNamespace != "" {
			lockAt = r.cfg.LockNamespace
		}
		own := map[string]any{lbv1.LockNamespaceAnnotation: lockAt}
		if r.cfg.ControllerID != "" {
			own[lbv1.ControllerAnnotation] = r.cfg.ControllerID
		}
		patched, err := r.patchMeta(ctx, u, finalizers, own)
		if err != nil {
			return nil, fmt.Errorf("add finalizer: %w", err)
		}
		u = patched
		if a, ok := r.cfg.Locker.(advertiser); ok && lockNS {
			// Passes that read the binding before this patch lock in its
			// namespace: the next Lock of its pool looks there first.
			a.Advertise(b.Namespace, b.Spec.PoolRef.ID)
		}
	}
	return u, nil
}

// hooks are a reconcile's hooks: the controller's lock and Warn, and the
// owners the reconcile read; the caller adds its re-reads and status.
func (r *Reconciler) hooks(owners poolsync.OwnerLookup) poolsync.Hooks {
	return poolsync.Hooks{Owners: owners, Locker: r.cfg.Locker, Warn: r.cfg.Warn}
}

// advertiser is a pool Locker that must hear when a binding is told where
// this controller takes its pool's lock (poollock.AdvertisedLocker).
type advertiser interface {
	Advertise(namespace, poolID string)
}

// BusyRetry is how soon a binding whose pool another writer holds is
// reconciled again.
const BusyRetry = 2 * time.Second

// gates sets the readiness-gate condition of the binding's gated pods from
// one member list of its pool (the health the ELB reports now), and asks
// for another poll after readinessgate.PollInterval while a gate may still
// open. Bindings whose pods declare no gate cost no call, and no error
// whatever their Service's ports. A port number served in several
// protocols is chosen by the pool's protocol, as the pass chooses it.
func (r *Reconciler) gates(ctx context.Context, res *bindingsource.Resolver, b *lbv1.PoolBinding, c elb.Client, out *reconciled) error {
	if r.cfg.Kube == nil {
		return nil
	}
	targets, err := res.GateTargets(ctx, b, "")
	if errors.Is(err, endpoints.ErrPortAmbiguous) {
		pool, perr := c.GetPool(ctx, b.Spec.PoolRef.ID)
		if perr != nil {
			out.RequeueAfter = readinessgate.PollInterval
			return fmt.Errorf("readiness gates: reading the pool's protocol: %w", perr)
		}
		targets, err = res.GateTargets(ctx, b, poolsync.PortProtocol(pool.Protocol))
	}
	if err != nil {
		// The Service's port is not what the binding names: the pass says
		// so too, and a change of the Service brings the binding back.
		return fmt.Errorf("readiness gates: %w", err)
	}
	if len(targets) == 0 {
		return nil
	}
	members, err := c.ListMembers(ctx, b.Spec.PoolRef.ID)
	if err != nil {
		out.RequeueAfter = readinessgate.PollInterval
		return fmt.Errorf("readiness gates: %w", err)
	}
	now := time.Now()
	g := readinessgate.Compute(b.Name, b.Spec.PoolRef.ID, targets, members, now)
	if g.Pending {
		out.RequeueAfter = readinessgate.PollInterval
	}
	if r.cfg.GateLatency != nil {
		for _, d := range g.Decisions {
			if d.Changed && d.Desired.Status == corev1.ConditionTrue {
				if since := falseSince(d.Pod, b.Name); !since.IsZero() {
					r.cfg.GateLatency(now.Sub(since))
				}
			}
		}
	}
	applied, err := readinessgate.ApplyWith(ctx, r.podStatus(), g.Patches)
	out.Gates = applied.Patched
	if out.RequeueAfter == 0 && len(readinessgate.Refusals(err)) > 0 {
		// A gate that could open was refused: try again, though not at
		// every poll, so that a permission granted later opens it.
		out.RequeueAfter = GateRefusedRetry
	}
	return err
}

// GateRefusedRetry is how soon a binding whose readiness-gate patches the
// API server refused tries them again (one member list, one patch per
// pod whose gate should change).
const GateRefusedRetry = 30 * time.Second

// recordGates says in the binding's status that the API server refuses
// its readiness-gate patches (condition ReadinessGates False,
// GatePatchRefused, naming the server's answer), and removes the condition
// once the gates are served again. Other gate errors say nothing about the
// patches and leave it as it is. b is the cached binding: nothing is read
// or written while the condition is already what it should be.
func (r *Reconciler) recordGates(ctx context.Context, b *lbv1.PoolBinding, gateErr error) {
	if r.cfg.NoStatus || r.cfg.Policy.DryRun || r.cfg.Dynamic == nil {
		return
	}
	refused := readinessgate.Refusals(gateErr)
	if gateErr != nil && len(refused) == 0 {
		return
	}
	var want *metav1.Condition
	if len(refused) > 0 {
		slices.SortFunc(refused, func(x, y *readinessgate.RefusedError) int {
			return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
		})
		msg := fmt.Sprintf("the API server refused the readiness-gate patch of pods/status of pod %s/%s: %s",
			refused[0].Namespace, refused[0].Name, refused[0].Answer())
		if len(refused) > 1 {
			msg += fmt.Sprintf(" (and %d more pod(s))", len(refused)-1)
		}
		msg += "; pods that declare the gate stay not Ready"
		want = &metav1.Condition{Status: metav1.ConditionFalse, Reason: lbv1.ReasonGatePatchRefused, Message: clip(redact.String(msg))}
	}
	cur := meta.FindStatusCondition(b.Status.Conditions, lbv1.ConditionReadinessGates)
	if want == nil && cur == nil || want != nil && cur != nil && cur.Status == want.Status && cur.Reason == want.Reason && cur.Message == want.Message {
		return
	}
	if err := bindingstatus.SetCondition(ctx, r.cfg.Dynamic, r.cfg.GVR, b.Namespace, b.Name, b.UID, lbv1.ConditionReadinessGates, want); err != nil {
		fmt.Fprintf(r.cfg.Log, "Warning: condition %s of PoolBinding %s/%s not written: %v\n", lbv1.ConditionReadinessGates, b.Namespace, b.Name, redact.Error(err))
	}
}

// falseSince is when the pod's gate condition last turned False (zero
// when it has none).
func falseSince(p *corev1.Pod, binding string) time.Time {
	t := readinessgate.ConditionType(binding)
	for _, c := range p.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionFalse {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// releaseGates opens the gates of a deleted binding's pods: nothing would
// open them any more.
func (r *Reconciler) releaseGates(ctx context.Context, res *bindingsource.Resolver, b *lbv1.PoolBinding) error {
	if r.cfg.Kube == nil {
		return nil
	}
	pods, err := res.GatedPods(ctx, b)
	if err != nil || len(pods) == 0 {
		return err
	}
	targets := make([]readinessgate.Target, len(pods))
	for i := range pods {
		targets[i] = readinessgate.Target{Pod: &pods[i]}
	}
	_, err = readinessgate.ApplyWith(ctx, r.podStatus(), readinessgate.Release(b.Name, targets, time.Now()))
	return err
}

func (r *Reconciler) podStatus() readinessgate.StatusPatcher {
	if r.cfg.PodStatus != nil {
		return r.cfg.PodStatus
	}
	return readinessgate.CorePods(r.cfg.Kube)
}

// fingerprint names everything a pass of b plans from, as resolved from
// the caches: its generation and annotations, its desired, draining and
// lingering endpoints, why they may be unknown, its subnet, and what its
// pool's other bindings want.
func fingerprint(b *lbv1.PoolBinding, t poolsync.Target, peers []poolsync.Target) string {
	h := sha256.New()
	w := func(parts ...any) { fmt.Fprintln(h, parts...) }
	w(b.UID, b.Generation, b.Annotations)
	for _, x := range append([]poolsync.Target{t}, peers...) {
		w(x.Binding.UID, x.Endpoints, x.Draining, x.Lingering, x.Lagging, x.ResolveErr, x.SubnetCIDRID, x.PortChoices)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r *Reconciler) previous(key string) (lastPass, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.last[key]
	return p, ok
}

// remember keeps p while its gates are pending, the only time it is read:
// a binding that converged keeps nothing (at 10,000 bindings the kept
// results and their plans were about 14 MB of the controller's heap).
func (r *Reconciler) remember(key string, p lastPass) {
	if !p.gatesPending {
		r.forget(key)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]lastPass{}
	}
	r.last[key] = p
}

func (r *Reconciler) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, key)
}

// peers are the other bindings of b's pool, resolved from the caches, and
// the owner lookup over every watched binding.
func (r *Reconciler) peers(ctx context.Context, res *bindingsource.Resolver, b *lbv1.PoolBinding) ([]poolsync.Target, poolsync.OwnerLookup, error) {
	same, err := r.cfg.PoolBindings(b.Spec.PoolRef.ID)
	if err != nil {
		return nil, nil, err
	}
	var peers []poolsync.Target
	for _, p := range same {
		if p.UID == b.UID || p.DeletionTimestamp != nil || p.Spec.PoolRef.ID != b.Spec.PoolRef.ID {
			continue
		}
		peers = append(peers, res.Target(ctx, p))
	}
	return peers, r.owners(), nil
}

// owners answers from the cache's uid index; as the cache follows the
// server, a second read (ReadOwners, under the pool's lock) is the same
// lookup.
func (r *Reconciler) owners() poolsync.OwnerLookup {
	return poolsync.OwnerLookupFunc(r.cfg.HasBinding, r.cfg.Namespaces)
}

// toUnstructured is b as the status writer and the event recorder take
// it, with its apiVersion and kind.
func toUnstructured(b *lbv1.PoolBinding) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(lbv1.SchemeGroupVersion.String())
	u.SetKind(lbv1.Kind)
	return u, nil
}

func (r *Reconciler) region(b *lbv1.PoolBinding) string {
	return elbconfig.ClientRegion(b, r.cfg.OwnRegion)
}

// cleanup removes the owned members of a deleted binding, then its
// finalizer. The foreign and orphan rules hold as in every pass: only
// members with this binding's marker are removed. A pool that is gone, or
// that refuses removals (deletion protection), cannot be cleaned: the
// finalizer goes anyway, with a warning Event, so that nothing is stuck
// forever; other failures are retried.
func (r *Reconciler) cleanup(ctx context.Context, u *unstructured.Unstructured, b *lbv1.PoolBinding) reconciled {
	c, err := r.cfg.ELB(ctx, r.region(b))
	if err != nil {
		return reconciled{Err: err}
	}
	res := bindingsource.NewResolver(r.cfg.Mapper, r.cfg.Store, r.cfg.SubnetOverride)
	peers, owners, err := r.peers(ctx, res, b)
	if err != nil {
		return reconciled{Err: err}
	}
	policy := r.cfg.Policy
	// Deleting the binding is the consent to empty what it owns; a member
	// another binding of the pool wants is handed over to it, not removed.
	// Nothing waits for health and nothing is a dry run: the binding goes.
	policy.DryRun, policy.AllowEmpty, policy.PruneOrphans, policy.WaitHealthy = false, true, false, false
	opts := poolsync.Options{Policy: policy, Hooks: r.hooks(owners)}
	result := poolsync.SyncAmong(ctx, c, poolsync.Target{Binding: b}, peers, opts)
	result.Mask()
	out := reconciled{Result: &result}
	switch {
	case result.InSync():
		if result.Removed > 0 {
			r.normal(u, "MembersRemoved", fmt.Sprintf("removed %d member(s) from pool %s before deletion", result.Removed, b.Spec.PoolRef.ID))
		}
	case result.Reason == poolsync.ReasonPoolNotFound || result.Reason == poolsync.ReasonDeletionProtected,
		result.Reason == poolsync.ReasonInvalidBinding && !poolsync.ValidPoolID(b.Spec.PoolRef.ID):
		// A pool ID that cannot name a pool holds no member of this
		// binding (its passes made no call): nothing to wait for.
		r.warn(u, result.Reason, "finalizer removed without removing members: "+result.Message)
	default:
		r.warn(u, result.Reason, "members not removed, retrying: "+result.Message)
		return reconciled{Result: &result, Err: errors.New(result.Line())}
	}
	if err := r.releaseGates(ctx, res, b); err != nil {
		// Optional: the members are handled, the deletion goes on.
		out.GateErr = fmt.Errorf("opening the readiness gates of the deleted binding's pods: %w", err)
		r.warn(u, ReasonGatesFailed, out.GateErr.Error())
	}
	out.Err = r.dropFinalizer(ctx, u)
	return out
}

func (r *Reconciler) dropFinalizer(ctx context.Context, u *unstructured.Unstructured) error {
	keep := slices.DeleteFunc(slices.Clone(u.GetFinalizers()), func(f string) bool { return f == lbv1.MembersFinalizer })
	if keep == nil {
		keep = []string{}
	}
	if _, err := r.patchMeta(ctx, u, keep, nil); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// patchMeta sets the binding's finalizers (nil: unchanged) and the
// annotations given (a nil value removes one), guarded by its
// resourceVersion: a finalizer another controller added meanwhile is a
// conflict (retried from a fresh cache), never lost. It returns the
// binding as patched.
func (r *Reconciler) patchMeta(ctx context.Context, u *unstructured.Unstructured, finalizers []string, annotations map[string]any) (*unstructured.Unstructured, error) {
	meta := map[string]any{"resourceVersion": u.GetResourceVersion()}
	if finalizers != nil {
		meta["finalizers"] = finalizers
	}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return nil, err
	}
	return r.cfg.Dynamic.Resource(r.cfg.GVR).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
}

// event records what a pass changed (Normal) or why it did not converge
// (Warning, reason = the status reason). A pass with nothing to change
// records nothing, so that a resync does not flood the Events.
func (r *Reconciler) event(u *unstructured.Unstructured, res poolsync.Result) {
	switch {
	case res.State == poolsync.StateSynced:
		r.normal(u, res.Reason, res.Line())
	case !res.InSync():
		r.warn(u, res.Reason, res.Line())
	}
}

func (r *Reconciler) normal(u *unstructured.Unstructured, reason, msg string) {
	if r.cfg.Recorder != nil {
		r.cfg.Recorder.Event(u, corev1.EventTypeNormal, reason, clip(redact.String(msg)))
	}
}

func (r *Reconciler) warn(u *unstructured.Unstructured, reason, msg string) {
	if r.cfg.Recorder != nil {
		r.cfg.Recorder.Event(u, corev1.EventTypeWarning, reason, clip(redact.String(msg)))
	}
}

// clip keeps an Event's message within the API's 1 KiB note limit.
func clip(s string) string {
	if len(s) <= 1024 {
		return s
	}
	return strings.ToValidUTF8(s[:1021], "") + "..."
}
