package syncdriver

import (
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/bindingreconciler"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

// ControllerInputs are what the controller of `sync --watch` gives each
// reconcile besides what the driver built.
type ControllerInputs struct {
	// Controller serves the cached bindings and the Event recorder.
	Controller *bindingcontroller.Controller
	// Store resolves targets from the controller's caches; PodResource is
	// the platform's pods (core v1, or cci/v2 on CCI 2.0).
	Store       bindingsource.Store
	PodResource schema.GroupVersionResource
	// ResyncPeriod bounds how long gate polls stand in for full passes;
	// GateLatency, if set, is told how long a gate took to open.
	ResyncPeriod time.Duration
	GateLatency  func(time.Duration)
}

// ReconcilerConfig is what the controller's per-binding reconcile
// (pkg/bindingreconciler) works with: the pass's policy, pool locks, ELB
// clients per region, status and Lease clients, as the one-shot pass's,
// read from the controller's caches.
func (d *Driver) ReconcilerConfig(clusterID string, in ControllerInputs) bindingreconciler.Config {
	c := in.Controller
	return bindingreconciler.Config{
		Binding: func(ns, name string) (*lbv1.PoolBinding, error) {
			b, err := c.Bindings().Get(cache.ObjectName{Namespace: ns, Name: name})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return b, err
		},
		PoolBindings:   c.Bindings().ForPool,
		HasBinding:     c.Bindings().HasUID,
		Namespaces:     d.namespaces(),
		Store:          in.Store,
		Mapper:         bindingsource.RememberMappings(d.Mapper), // for the process, not per reconcile
		SubnetOverride: d.opts.SubnetCIDRID,
		ELB:            d.elb.forBinding,
		OwnRegion:      d.OwnRegion,
		Policy:         d.policy(clusterID),
		Locker:         d.controllerLocks(),
		Warn:           d.opts.warn,
		Dynamic:        d.StatusDynamic,
		GVR:            d.PoolBindings,
		Kube:           d.Leases,
		PodStatus:      podStatusPatcher(d.StatusDynamic, d.Leases, in.PodResource),
		ResyncPeriod:   in.ResyncPeriod,
		GateLatency:    in.GateLatency,
		NoStatus:       d.opts.NoStatus,
		LockNamespace:  d.opts.Locks.Namespace,
		ControllerID:   d.ControllerID(),
		Recorder:       c.Recorder(),
		Log:            d.opts.log(),
	}
}

// ControllerID names the controller on the bindings it finalizes
// (lbv1.ControllerAnnotation) by what it reconciles: its scope and
// selection, as its flags give them ("-A -l team=a", "-n shop"). Replicas
// of one deployment, and the same controller restarted, share it.
func (d *Driver) ControllerID() string {
	id := "-n " + d.opts.Namespace
	if d.opts.AllNamespaces {
		id = "-A"
	}
	if !d.Selector.Empty() {
		id += " -l " + d.Selector.String() // canonical: "a=1, b" and "b,a=1" are one
	}
	return id
}

// podStatusPatcher patches readiness gates on the platform's pods: core v1,
// or CCI 2.0's cci/v2 pods through the dynamic client.
func podStatusPatcher(dyn dynamic.Interface, kube kubernetes.Interface, pods schema.GroupVersionResource) readinessgate.StatusPatcher {
	if pods.Group == "" {
		return readinessgate.CorePods(kube)
	}
	return readinessgate.ResourcePods(dyn, pods)
}

// controllerLocks is the controller's pool Locker. With a lock namespace
// it also waits for one-shot passes that read a binding before the
// controller advertised that namespace on it, and so took the pool's lock
// in the binding's namespace (poollock.AdvertisedLocker).
func (d *Driver) controllerLocks() poollock.Locker {
	l := d.locker()
	ns := d.opts.Locks.Namespace
	if ns == "" {
		return l
	}
	return &poollock.AdvertisedLocker{
		Locker: l, Namespace: ns, Leases: d.Leases.CoordinationV1(),
		OnUnreadable: func(err error) {
			d.opts.warn(fmt.Sprintf("one-shot passes' pool locks in binding namespaces cannot be read (%v): a pass that took one before its binding advertised this controller's lock namespace may write the pool at the same time", err))
		},
	}
}
