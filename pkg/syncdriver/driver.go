// Package syncdriver drives the sync pipeline of PoolBindings (resolve with
// pkg/bindingsource, plan and write with pkg/poolsync, record with
// pkg/bindingstatus) for both modes of `ccictl sync`. New builds, once, what
// both need from a cluster's config and the pass's options: the PoolBinding
// resource, the clients, the selector, the cluster identity, the pool
// locks, the region rule and one ELB client per region. On top of it,
// RunOnce is the one-shot pass, and NewController the controller of
// `sync --watch` (pkg/bindingcontroller's informers and queue) with a
// Reconciler of each binding over the same pipeline, read from its caches.
// It does not import cobra: pkg/cmd/synccmd maps its flags to Options.
package syncdriver

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/fence"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// ClusterConfig gives the REST config and mapper of one cluster's context
// (cmdutil.Factory is one).
type ClusterConfig interface {
	ToRESTConfig() (*rest.Config, error)
	ToRESTMapper() (meta.RESTMapper, error)
}

// Options are what the pass was asked to do, as values.
type Options struct {
	// Namespace, or every namespace with AllNamespaces, holds the
	// bindings; Names (one-shot only) and LabelSelector (-l) select among
	// them.
	Namespace     string
	AllNamespaces bool
	Names         []string
	LabelSelector string
	// ClusterID names this cluster in ownership markers ("" =
	// bindingsource.ClusterIdentity's default).
	ClusterID string
	// SubnetCIDRID is --subnet-id ("" = each binding's annotation).
	SubnetCIDRID string
	// NoStatus leaves the bindings' statuses alone (a dry run always
	// does).
	NoStatus bool
	// Policy is the pass's policy from the flags; the driver adds the
	// cluster identity, and each mode its hooks (pool locks, what it read,
	// where results go).
	Policy poolsync.Policy
	// Locks say where and how the pool locks are taken.
	Locks LockOptions
	// ELB is the ELB client's options from the flags; the driver adds the
	// cluster's address and its iam auth-provider block.
	ELB elbconfig.Options
	// NewELBClient, if set, builds the ELB client of a region instead of
	// pkg/elb/elbconfig (tests reach the ELB emulator with it).
	NewELBClient func(ctx context.Context, o elbconfig.Options, region string) (elb.Client, error)
	// WrapELBClient, if set, wraps each region's client once (the
	// controller counts its calls).
	WrapELBClient func(elb.Client) elb.Client

	Notices
}

// LockOptions say where the pool locks are (--lock-namespace) and how a
// pass waits for one.
type LockOptions struct {
	// Namespace holds every pool's Lease ("" = the binding's namespace,
	// or, for a one-shot pass, where the controller advertises it).
	Namespace string
	// NoWait reports Busy instead of waiting (--no-wait-lock).
	NoWait bool
	// MaxWait bounds a wait, then the binding is Busy (the controller's
	// workers; 0 = the pass's timeout).
	MaxWait time.Duration
	// Term binds the locks to a leadership term ("namespace/name" of the
	// leader Lease; "" = none).
	Term string
}

// Notices are where the driver tells the user what they should know: the
// one-shot pass prints them on stderr, the controller logs them.
type Notices struct {
	// Warn receives warnings (resolution, lock namespaces, the pass's own).
	Warn func(string)
	// LocksUnavailable is told once when pool Leases cannot be used.
	LocksUnavailable func(error)
	// WaitingForLock is told when a binding waits for another holder's
	// pool lock.
	WaitingForLock func(lease, holder string)
	// Log receives status-write notices (nil = discarded).
	Log io.Writer
}

func (n Notices) warn(s string) {
	if n.Warn != nil {
		n.Warn(s)
	}
}

func (n Notices) log() io.Writer {
	if n.Log == nil {
		return io.Discard
	}
	return n.Log
}

// Driver is what both modes of the pass use, built once by New.
type Driver struct {
	opts Options
	cfg  *rest.Config // the context's, as it gives it (JSON)

	// Mapper maps the cluster's resources; PoolBindings is their resource.
	Mapper       meta.RESTMapper
	PoolBindings schema.GroupVersionResource
	// Selector is -l (labels.Everything() without it).
	Selector labels.Selector
	// Kube reads core and discovery resources, protobuf-encoded: decoding
	// thousands of Services and EndpointSlices into generic maps dominated
	// the one-shot pass's memory (docs/performance.md).
	Kube kubernetes.Interface
	// StatusDynamic writes statuses (and the controller's finalizers),
	// Leases the pool locks (and readiness gates): without client-go's
	// token bucket, as their writers bound their requests in flight
	// (bindingstatus.New), and each request checks the fence guards of
	// its context (pkg/fence): a writer that lost its pool lock or its
	// leadership writes nothing more.
	StatusDynamic dynamic.Interface
	Leases        kubernetes.Interface
	// OwnRegion is the region of the pass's own pools (elbconfig.OwnRegion;
	// "" = not named).
	OwnRegion string

	elbOptions elbconfig.Options
	elb        *regionClients
	// identity reads this cluster's identity (bindingsource.ClusterIdentity).
	identity func(ctx context.Context) (string, error)
	// reads is what the one-shot pass reads (nil: the cluster's lists).
	reads *Reads
}

// New builds the driver of one cluster's context. It reads the server's
// discovery (the PoolBinding mapping) and nothing else.
func New(cc ClusterConfig, o Options) (*Driver, error) {
	mapper, err := cc.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	plb, err := mapper.RESTMapping(schema.GroupKind{Group: lbv1.GroupName, Kind: lbv1.Kind}, lbv1.SchemeGroupVersion.Version)
	if err != nil {
		return nil, fmt.Errorf("the server does not serve PoolBindings (%s/%s): %w", lbv1.GroupName, lbv1.SchemeGroupVersion.Version, err)
	}
	cfg, err := cc.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	d := &Driver{opts: o, cfg: cfg, Mapper: mapper, PoolBindings: plb.Resource}
	// CCI's own groups (cci/v2) are only served as JSON and go through
	// dynamic clients over cfg.
	if d.Kube, err = kubernetes.NewForConfig(d.ProtobufConfig()); err != nil {
		return nil, err
	}
	statusCfg := rest.CopyConfig(cfg)
	statusCfg.QPS = -1 // no client-side limiter: see bindingstatus.New
	statusCfg.Wrap(fence.Transport)
	if d.StatusDynamic, err = dynamic.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	if d.Leases, err = kubernetes.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	if d.Selector, err = parseSelector(o.LabelSelector); err != nil {
		return nil, err
	}
	d.identity = func(ctx context.Context) (string, error) {
		return bindingsource.ClusterIdentity(ctx, d.Kube, o.ClusterID, cfg)
	}
	d.setELB(elbOptionsFor(o.ELB, cfg))
	return d, nil
}

func parseSelector(s string) (labels.Selector, error) {
	if s == "" {
		return labels.Everything(), nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid selector %q: %w", s, err)
	}
	return sel, nil
}

// elbOptionsFor adds to the flags' ELB options what the cluster's config
// says: its address and the current user's iam auth-provider block (the
// same identity as the CCI API's).
func elbOptionsFor(eo elbconfig.Options, cfg *rest.Config) elbconfig.Options {
	eo.ClusterAddress = cfg.Host
	if ap := cfg.AuthProvider; ap != nil && ap.Name == "iam" {
		eo.IAMProvider = map[string]string{}
		for k, v := range ap.Config {
			eo.IAMProvider[k] = v
		}
	}
	return eo
}

// setELB sets the ELB options, the own region they name, and the client
// cache per region.
func (d *Driver) setELB(eo elbconfig.Options) {
	d.elbOptions, d.OwnRegion = eo, elbconfig.OwnRegion(eo)
	d.elb = &regionClients{new: d.newELBClient, wrap: d.opts.WrapELBClient}
}

// newELBClient builds the client of a region ("" = the pass's own).
func (d *Driver) newELBClient(ctx context.Context, region string) (elb.Client, error) {
	if d.opts.NewELBClient != nil {
		return d.opts.NewELBClient(ctx, d.elbOptions, region)
	}
	creds, err := elbconfig.Credentials(d.elbOptions)
	if err != nil {
		return nil, err
	}
	return elbconfig.NewClient(ctx, d.elbOptions, creds, region)
}

// RESTConfig is a copy of the context's REST config (JSON).
func (d *Driver) RESTConfig() *rest.Config { return rest.CopyConfig(d.cfg) }

// ProtobufConfig is a copy of the context's REST config that reads and
// writes core and discovery resources protobuf-encoded.
func (d *Driver) ProtobufConfig() *rest.Config {
	cfg := rest.CopyConfig(d.cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg
}

// ClusterIdentity is this cluster's name in the ownership markers (one
// GET of namespace kube-system, unless Options.ClusterID gives it).
func (d *Driver) ClusterIdentity(ctx context.Context) (string, error) { return d.identity(ctx) }

// namespaces is the scope of the owner lookups: the pass's namespace, or
// nil for every namespace.
func (d *Driver) namespaces() []string {
	if d.opts.AllNamespaces {
		return nil
	}
	return []string{d.opts.Namespace}
}

// listNamespace is the namespace of the pass's lists ("" = all).
func (d *Driver) listNamespace() string {
	if d.opts.AllNamespaces {
		return ""
	}
	return d.opts.Namespace
}

// locker is the pool locker of the pass, over the Lease client.
func (d *Driver) locker() *poollock.LeaseLocker {
	l := d.opts.Locks
	return &poollock.LeaseLocker{
		Leases: d.Leases.CoordinationV1(), Namespace: l.Namespace, NoWait: l.NoWait, MaxWait: l.MaxWait, Term: l.Term,
		OnUnavailable: d.opts.LocksUnavailable, OnWait: d.opts.WaitingForLock,
	}
}

// policy is the pass's policy with this cluster's identity, the same for
// one-shot and --watch.
func (d *Driver) policy(clusterID string) poolsync.Policy {
	p := d.opts.Policy
	p.ClusterID = clusterID
	return p
}
