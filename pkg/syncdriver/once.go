package syncdriver

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/bindingstatus"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// Reads is what a one-shot pass reads from the cluster.
type Reads struct {
	// Bindings lists every PoolBinding of the pass's scope, not only the
	// selection: owner lookups must see every live binding, or members of
	// unselected bindings would look orphaned.
	Bindings func(ctx context.Context) ([]unstructured.Unstructured, error)
	// Store resolves the selected bindings; Fresh is a Store with nothing
	// read yet, for the re-check before removals.
	Store bindingsource.Store
	Fresh func() bindingsource.Store
	// Warnings are the notices of the Store's reads so far (nil: none).
	Warnings func() []string
}

// clusterReads are the one-shot pass's reads from the API server: one list
// of PoolBindings, then one list of Services and EndpointSlices (or Pods)
// per namespace the selected bindings live in (bindingsource.ListStore),
// never one GET per binding.
func (d *Driver) clusterReads() (*Reads, error) {
	dyn, err := dynamic.NewForConfig(d.RESTConfig())
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(d.ProtobufConfig())
	if err != nil {
		return nil, err
	}
	store := &bindingsource.ListStore{Typed: d.Kube, Dynamic: dyn, Metadata: md, Mapper: d.Mapper, AllNamespaces: d.opts.AllNamespaces}
	return &Reads{
		Bindings: func(ctx context.Context) ([]unstructured.Unstructured, error) {
			all, err := dyn.Resource(d.PoolBindings).Namespace(d.listNamespace()).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			return all.Items, nil
		},
		Store:    store,
		Fresh:    func() bindingsource.Store { return store.Fresh() },
		Warnings: store.Warnings,
	}, nil
}

// PassResult is what one one-shot pass did.
type PassResult struct {
	// Results are the selected bindings', in their order; nil when
	// nothing was selected.
	Results []poolsync.Result
	// OwnRegion is the region of the results without one ("" = not
	// named).
	OwnRegion string
	// StatusErr says status writes failed; the results stand.
	StatusErr error
}

// RunOnce is the one-shot pass: it lists the PoolBindings, resolves the
// selected ones, and syncs each region's bindings with that region's
// client, under the pool locks, recording each binding's status.
func (d *Driver) RunOnce(ctx context.Context) (*PassResult, error) {
	reads := d.reads
	if reads == nil {
		var err error
		if reads, err = d.clusterReads(); err != nil {
			return nil, err
		}
	}
	out := &PassResult{OwnRegion: d.OwnRegion}
	in, err := d.resolve(ctx, reads)
	if err != nil {
		return nil, err
	}
	for _, w := range in.warnings {
		d.opts.warn(w)
	}
	if len(in.targets) == 0 {
		return out, nil
	}
	groups := groupByRegion(in.targets, d.OwnRegion)
	clients, err := d.elb.forGroups(ctx, groups, in.targets)
	if err != nil {
		return nil, err
	}
	opts := poolsync.Options{Policy: d.policy(in.clusterID), Hooks: poolsync.Hooks{
		Owners: in.owners, ReadOwners: in.readOwners, ReadDesired: in.reread,
		Locker: d.oneShotLocks(ctx, append(in.targets[:len(in.targets):len(in.targets)], in.poolPeers...)), Warn: d.opts.warn,
	}}
	var status *bindingstatus.Writer
	if !opts.DryRun && !d.opts.NoStatus {
		status = bindingstatus.New(ctx, d.StatusDynamic, d.PoolBindings, in.objects, d.opts.log())
		opts.Record = status.Record
	}
	out.Results = runRegions(ctx, groups, clients, in.targets, opts)
	// The last line of defence before anything is written: ELB errors are
	// masked where they are made, but a message must never carry a secret
	// into stdout, the report or a PoolBinding's status.
	for i := range out.Results {
		out.Results[i].Mask()
	}
	for _, r := range out.Results {
		for _, w := range r.Warnings {
			d.opts.warn(fmt.Sprintf("poolbinding/%s: %s", r.Name, w))
		}
	}
	if status != nil {
		out.StatusErr = status.Finish()
	}
	return out, nil
}

// oneShotLocks takes each pool's lock where the controller takes it: in
// --lock-namespace, else where the pool's bindings advertise it
// (advertisedLocks), else in each binding's namespace. Without a Lease
// client there are no locks (a dry run takes none anyway).
func (d *Driver) oneShotLocks(ctx context.Context, targets []poolsync.Target) poollock.Locker {
	if d.Leases == nil {
		return nil
	}
	locker := d.locker()
	if ns := d.opts.Locks.Namespace; ns != "" {
		for _, w := range lockWarnings(ns, targets) {
			d.opts.warn(w)
		}
		return locker
	}
	lockAt, notes := newAdvertisedLocks(locker, targets, func(ns string) bool {
		_, err := d.Leases.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err) // unknown (e.g. Forbidden): as advertised
	}, d.advertisedLockNamespace)
	for _, w := range notes {
		d.opts.warn(w)
	}
	return lockAt
}

// advertisedLockNamespace reads a binding's lbv1.LockNamespaceAnnotation
// from the API server now ("" when it has none or is gone: its pass says
// so). A list of the one name, not a get: `list` is the verb a pass needs
// on PoolBindings anyway, and a list without a resourceVersion is as
// current as a get.
func (d *Driver) advertisedLockNamespace(ctx context.Context, namespace, name string) (string, error) {
	if d.StatusDynamic == nil {
		return "", nil
	}
	l, err := d.StatusDynamic.Resource(d.PoolBindings).Namespace(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return "", err
	}
	for _, b := range l.Items {
		if b.GetName() == name {
			return b.GetAnnotations()[lbv1.LockNamespaceAnnotation], nil
		}
	}
	return "", nil
}

// passInput is what a one-shot pass read and resolved.
type passInput struct {
	targets []poolsync.Target
	// poolPeers are the bindings in the pass's scope that it did not
	// select but whose pool it writes (Binding only): where the controller
	// advertises its lock on any of them, the pass locks there too.
	poolPeers []poolsync.Target
	objects   []*unstructured.Unstructured // the selected bindings, as read
	owners    poolsync.OwnerLookup
	warnings  []string
	clusterID string
	// reread re-reads one target's desired endpoints, for the re-check
	// before removals and for a plan made after waiting for a lock.
	reread func(ctx context.Context, t poolsync.Target) ([]endpoints.Endpoint, error)
	// readOwners lists the PoolBindings again, for a plan that would
	// remove orphans: a binding created since the pass began must not have
	// its members taken for orphans.
	readOwners func(context.Context) (poolsync.OwnerLookup, error)
}

// resolve lists the PoolBindings, selects the pass's, and resolves them
// (pkg/bindingsource). The cluster identity is read only when a binding
// is selected.
func (d *Driver) resolve(ctx context.Context, reads *Reads) (*passInput, error) {
	all, err := reads.Bindings(ctx)
	if err != nil {
		return nil, err
	}
	selected, err := bindingsource.Selection{Names: d.opts.Names, Selector: d.Selector}.Select(all)
	if err != nil {
		return nil, err
	}
	scope := d.namespaces()
	in := &passInput{objects: selected, owners: bindingsource.Owners(all, scope)}
	in.readOwners = func(ctx context.Context) (poolsync.OwnerLookup, error) {
		all, err := reads.Bindings(ctx)
		if err != nil {
			return nil, err
		}
		return bindingsource.Owners(all, scope), nil
	}
	if len(selected) == 0 {
		return in, nil
	}
	if in.clusterID, err = d.identity(ctx); err != nil {
		return nil, err
	}
	res := bindingsource.NewResolver(d.Mapper, reads.Store, d.opts.SubnetCIDRID)
	for _, u := range selected {
		b, err := bindingsource.Binding(u)
		if err != nil {
			in.targets = append(in.targets, poolsync.Target{Binding: b, ResolveErr: err})
			continue
		}
		in.targets = append(in.targets, res.Target(ctx, b))
	}
	in.poolPeers = poolPeers(all, selected, in.targets)
	// The re-check before removals reads the binding's namespace anew.
	in.reread = func(ctx context.Context, t poolsync.Target) ([]endpoints.Endpoint, error) {
		return res.Reread(ctx, reads.Fresh(), t.Binding, t.PortProtocol)
	}
	if reads.Warnings != nil {
		in.warnings = append(in.warnings, reads.Warnings()...)
	}
	in.warnings = append(in.warnings, res.Warnings()...)
	in.warnings = append(in.warnings, res.UncoveredZones(all)...)
	return in, nil
}

// poolPeers are the bindings of all, not selected, whose pool is one of
// the targets': the pass writes their pools too, so it must take the same
// lock as the controller that manages them.
func poolPeers(all []unstructured.Unstructured, selected []*unstructured.Unstructured, targets []poolsync.Target) []poolsync.Target {
	pools := map[string]bool{}
	for _, t := range targets {
		if t.Binding != nil {
			pools[t.Binding.Spec.PoolRef.ID] = true
		}
	}
	chosen := map[types.NamespacedName]bool{}
	for _, u := range selected {
		chosen[types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}] = true
	}
	var out []poolsync.Target
	for i := range all {
		u := &all[i]
		if chosen[types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}] {
			continue
		}
		b, err := bindingsource.Binding(u)
		if err == nil && pools[b.Spec.PoolRef.ID] {
			out = append(out, poolsync.Target{Binding: b})
		}
	}
	return out
}
