// Package synccmd implements `ccictl sync`: one client-side reconciliation pass
// that makes each selected PoolBinding's ELB pool hold exactly the target
// Service's ready endpoints, or with --watch the same pass as a controller.
// pkg/syncdriver builds the clients and drives the pass in both modes; this
// package maps the flags to its options, validates them, iterates over
// contexts, prints the results and maps them to exit codes, and runs the
// controller (metrics server, leader election, informers).
package synccmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/fence"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/syncdriver"
)

// SyncOptions holds everything `sync` was asked to do.
type SyncOptions struct {
	Names         []string
	Namespace     string
	AllNamespaces bool
	LabelSelector string

	DryRun       bool
	ExitCode     bool
	AllowEmpty   bool
	PruneOrphans bool
	Concurrency  int
	Timeout      time.Duration
	Output       string
	NoStatus     bool

	MemberQuota    int
	WaitHealthy    bool
	HealthTimeout  time.Duration
	HealthInterval time.Duration

	ELBEndpoint string
	Region      string
	ProjectID   string
	// ELBEndpoints and ELBProjectIDs are per-region overrides for bindings
	// whose pool is in another region (lbv1.RegionAnnotation).
	ELBEndpoints  map[string]string
	ELBProjectIDs map[string]string
	SubnetCIDRID  string
	// ELBRequestTimeout bounds one attempt of an ELB call (0 = no bound).
	ELBRequestTimeout time.Duration
	// NoWaitLock reports Busy instead of waiting for another writer's
	// pool lock; LockNamespace holds every pool's Lease ("" = the
	// binding's namespace).
	NoWaitLock    bool
	LockNamespace string
	// ClusterID names this cluster in ownership markers ("" =
	// bindingsource.ClusterIdentity's default).
	ClusterID string

	// Contexts are the cliconfig contexts of a pass over several clusters
	// (--context repeated, or --all-contexts); one context is the usual
	// single-cluster pass.
	Contexts    []string
	AllContexts bool

	// WatchOptions are the flags of the continuous mode (--watch).
	WatchOptions

	factory *cmdutil.Factory
	// elbTransport wraps the ELB client's transport (--watch: metrics).
	elbTransport func(http.RoundTripper) http.RoundTripper

	genericiooptions.IOStreams
}

const long = `Run one reconciliation pass: for each selected PoolBinding, make its ELB
backend server group's members equal the target Service's ready endpoints.

For each binding, sync
  1. resolves the Service (targetRef; group cci/v2 on CCI 2.0, v1 on
     Kubernetes) and its port; the member port is that port's targetPort,
     named targetPorts resolved per pod;
  2. takes the ready, non-terminating IPv4 endpoints from EndpointSlices
     where the server serves them, else from Running and Ready Pods
     matching the Service's selector;
  3. checks the pool is not the one the Service's own load balancer uses
     (kubernetes.io/elb.id against the pool's loadbalancers);
  4. checks the pool can take the members (pool type and ip_version) and
     whether it refuses removals (member_deletion_protection_enable);
  5. reads the pool's members (pages of 2000), adds the missing ones
     (batch-add, 200 per call), sets weights (batch-update, 200 per call),
     then removes stale members it owns (batch-delete, 200 per call). Adds
     always come before removals.

Draining: a terminating endpoint that still serves keeps its member at
weight 0 (no new connections) until it is gone, unless the pool drains
removed members itself (connection_drain) or ignores weights (SOURCE_IP,
QUIC_CID). Owned members are kept at the binding's weight: annotation
loadbalancer.networking.openvessel.io/weight (0-100), default 1.

Quota: when the pool's member quota (members_per_pool, read once per pass,
else --member-quota) cannot hold the old and the new members at once, the
pass runs in rounds: add what fits, remove as many stale members as were
added (unhealthy ones first), repeat. With --wait-healthy each round waits
until its new members are ONLINE in the ELB health check (at most
--health-timeout) before removing anything; a round that times out keeps
its stale members and the binding is Degraded (MembersUnhealthy). Pools
without a health monitor are not waited on.

Ownership: members sync adds carry "ccictl:<cluster-id>:<namespace>/<name>:<uid>"
in their name; the cluster id is --cluster-id, else the UID of the
kube-system namespace, else (CCI 2.0, where a tenant reads no kube-system)
"cci-" and a hash of the API server address and the IAM project. Members
without this binding's marker are foreign: counted, never removed; another
cluster's members are never orphans. Members of deleted bindings of this
cluster stay unless --prune-orphans. Members with the earlier marker
"ccictl:<namespace>/<name>:<uid>", or this binding's marker under another
cluster id (same namespace, name and uid), are re-marked.

Safety: when the Service is missing, endpoints cannot be resolved or a read
is incomplete, nothing is removed. sync refuses to empty a pool that holds
owned members unless --allow-empty.

Overlapping passes: a binding's pool read, plan and writes hold its pool's
lock, a coordination.k8s.io Lease "ccictl-pool-<pool id>" where the
controller of sync --watch takes it (the namespace the binding's annotation
loadbalancer.networking.openvessel.io/lock-namespace names), else in the
binding's namespace, or in --lock-namespace. Another pass waits for it up
to --timeout (and says which Lease),
or with --no-wait-lock reports Busy. Where Leases are unavailable, removals
are re-checked against a fresh read right before they are made.

Kubernetes reads: one list of PoolBindings, and one list each of Services
and EndpointSlices (or Pods) per namespace, or across namespaces with -A.
Status (conditions, counts, lastSyncTime) is written through the status
subresource; a server that refuses it does not fail the pass.

ELB access: --elb-endpoint (env CCICTL_ELB_ENDPOINT) or
https://elb.<region>.myhuaweicloud.com for --region (env HW_REGION_NAME, or
the iam auth-provider's project-name, or the cluster's cci.<region> host).
Credentials: the current user's iam auth-provider block (AK/SK, token or
password), else HW_ACCESS_KEY and HW_SECRET_KEY, else an IAM token in
CCICTL_ELB_TOKEN. Project: --project-id, HW_PROJECT_ID, or looked up in IAM.

Continuous mode: with --watch, sync runs the same pass as a controller
until SIGTERM: each selected binding is reconciled when it, its Service or
its endpoints change (coalesced per binding, --coalesce) and every
--resync-period; bindings get a finalizer that removes their members when
they are deleted; pods declaring a binding's readiness gate get it set;
--leader-elect runs one writer among replicas (docs/watch.md).

Exit codes: 0 every binding is in sync after the pass (or, with --dry-run,
the plan was computed); 1 any binding failed, was blocked (QuotaExhausted,
DeletionProtected, PoolTypeUnsupported, ...) or degraded; 2 with
--dry-run --exit-code when the plan has changes.`

var example = `  # Converge every PoolBinding of a namespace
  ccictl sync -n test-ns

  # What would change, as JSON, failing the pipeline step if anything would
  ccictl sync -A --dry-run --exit-code -o json

  # One binding, allowing it to empty its pool
  ccictl sync test-c1 -n test-ns --allow-empty

  # A rollout step: remove old members only once the new ones are healthy
  ccictl sync -n test-ns --wait-healthy --health-timeout 10m --timeout 30m`

// NewCmdSync returns the sync command. runF, when not nil, runs instead of
// Run after Complete and Validate: tests see the options the flags made.
func NewCmdSync(f *cmdutil.Factory, streams genericiooptions.IOStreams, runF func(*SyncOptions) error) *cobra.Command {
	o := &SyncOptions{Concurrency: poolsync.DefaultConcurrency, Timeout: 5 * time.Minute,
		ELBRequestTimeout: elb.DefaultRequestTimeout, IOStreams: streams,
		MemberQuota: poolsync.DefaultMemberQuota, HealthTimeout: poolsync.DefaultHealthTimeout, HealthInterval: poolsync.DefaultHealthInterval}
	cmd := &cobra.Command{
		Use:                   "sync [NAME...] [-n NAMESPACE | -A] [-l SELECTOR]",
		DisableFlagsInUseLine: true,
		Short:                 "Reconcile ELB pool members with the ready endpoints of each PoolBinding's Service",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     cmdutil.ResourceNameCompletionFunc(f, "poolbindings"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Sync the selected PoolBindings of every namespace.")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) on PoolBindings.")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print the plan and change nothing (no ELB writes, no status writes).")
	fl.BoolVar(&o.ExitCode, "exit-code", false, "With --dry-run, exit 2 when the plan has changes.")
	fl.BoolVar(&o.AllowEmpty, "allow-empty", false, "Allow a pass to remove every owned member when the Service has no ready endpoints.")
	fl.BoolVar(&o.PruneOrphans, "prune-orphans", false, "Also remove members whose marker names a PoolBinding that no longer exists.")
	fl.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "Bindings synced at the same time.")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "Give up on the whole pass after this long (retries included); with --watch, on each reconcile.")
	fl.StringVarP(&o.Output, "output", "o", "", "Output format: one line per binding by default, or json|yaml (plan and result per binding).")
	fl.BoolVar(&o.NoStatus, "no-status", false, "Do not write PoolBinding status.")
	fl.IntVar(&o.MemberQuota, "member-quota", o.MemberQuota, "Members per pool to stage against when the ELB quota cannot be read (-1 = unlimited).")
	fl.BoolVar(&o.WaitHealthy, "wait-healthy", false, "Remove stale members only after the new members of their round are ONLINE in the ELB health check.")
	fl.DurationVar(&o.HealthTimeout, "health-timeout", o.HealthTimeout, "With --wait-healthy, how long one round waits for its new members.")
	fl.DurationVar(&o.HealthInterval, "health-interval", o.HealthInterval, "With --wait-healthy, time between two health polls of a round.")
	fl.StringVar(&o.ELBEndpoint, "elb-endpoint", "", "ELB API base URL (default https://elb.<region>.myhuaweicloud.com).")
	fl.StringVar(&o.Region, "region", "", "Region for the ELB endpoint (default $HW_REGION_NAME, the iam project-name, or the cluster's cci.<region> host).")
	fl.StringVar(&o.ProjectID, "project-id", "", "Project ID for ELB paths (default $HW_PROJECT_ID or an IAM lookup).")
	fl.StringToStringVar(&o.ELBEndpoints, "elb-endpoints", nil, "ELB API base URL per region, for bindings whose pool is in another region (region=url,...; default https://elb.<region>.myhuaweicloud.com).")
	fl.StringToStringVar(&o.ELBProjectIDs, "elb-project-ids", nil, "Project ID per region, for bindings whose pool is in another region (region=id,...; default: looked up in IAM by the region name).")
	fl.DurationVar(&o.ELBRequestTimeout, "elb-request-timeout", o.ELBRequestTimeout,
		"Give up on one attempt of an ELB call after this long and retry it within --timeout (0 = no per-attempt limit). The global --request-timeout applies to Kubernetes requests.")
	fl.BoolVar(&o.NoWaitLock, "no-wait-lock", false, "When another pass holds a pool's lock, report the binding Busy (exit 1) instead of waiting up to --timeout.")
	fl.StringVar(&o.LockNamespace, "lock-namespace", "", "Namespace of the pool locks (coordination.k8s.io Leases) (default: where the controller takes them, as its bindings' lock-namespace annotation says, else each binding's namespace). Use one namespace for every pass when bindings of several namespaces share a pool.")
	fl.StringVar(&o.ClusterID, "cluster-id", "", "This cluster's identity in ownership markers, 1-48 letters, digits, '-', '_', '.' (default: the UID of the kube-system namespace, or where that cannot be read, as on CCI 2.0, one derived from the API server address and the IAM project). Give every cluster that feeds one pool its own.")
	// Shadows the global --context (a single value, which a repeated flag
	// would silently reduce to its last): sync takes several.
	fl.StringArrayVar(&o.Contexts, "context", nil, "Context of the cliconfig to sync (default: the current context). Repeat it to sync the bindings of several clusters in one pass.")
	fl.BoolVar(&o.AllContexts, "all-contexts", false, "Sync the bindings of every context of the cliconfig in one pass.")
	o.WatchOptions.addFlags(fl)
	fl.StringVar(&o.SubnetCIDRID, "subnet-id", "", "subnet_cidr_id for added members (default: the binding's "+lbv1.SubnetAnnotation+" annotation; none = IP-type members).")
	return cmd
}

// Complete reads namespace and args.
func (o *SyncOptions) Complete(f *cmdutil.Factory, args []string) error {
	if len(o.Contexts) == 1 {
		f.Connection.Context = o.Contexts[0]
	}
	if o.AllContexts {
		raw, err := f.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return err
		}
		o.Contexts = o.Contexts[:0]
		for name := range raw.Contexts {
			o.Contexts = append(o.Contexts, name)
		}
		sort.Strings(o.Contexts)
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	o.Namespace, o.Names, o.factory = ns, args, f
	return nil
}

// Validate checks flag combinations.
func (o *SyncOptions) Validate(cmd *cobra.Command) error {
	switch o.Output {
	case "", "json", "yaml":
	default:
		return cmdutil.UsageErrorf(cmd, "unknown output format %q: use json or yaml", o.Output)
	}
	if o.ExitCode && !o.DryRun {
		return cmdutil.UsageErrorf(cmd, "--exit-code only applies to --dry-run")
	}
	if o.AllNamespaces && len(o.Names) > 0 {
		return cmdutil.UsageErrorf(cmd, "a name cannot be combined with --all-namespaces")
	}
	if o.Concurrency < 1 {
		return cmdutil.UsageErrorf(cmd, "--concurrency must be at least 1")
	}
	if o.ELBRequestTimeout < 0 {
		return cmdutil.UsageErrorf(cmd, "--elb-request-timeout must not be negative")
	}
	if o.MemberQuota < -1 || o.MemberQuota == 0 {
		return cmdutil.UsageErrorf(cmd, "--member-quota must be a positive number of members, or -1 for unlimited")
	}
	if o.HealthTimeout <= 0 || o.HealthInterval <= 0 {
		return cmdutil.UsageErrorf(cmd, "--health-timeout and --health-interval must be positive")
	}
	if o.AllContexts && len(o.Contexts) == 0 {
		return cmdutil.UsageErrorf(cmd, "--all-contexts: the cliconfig has no contexts")
	}
	if o.multiCluster() && o.ClusterID != "" {
		return cmdutil.UsageErrorf(cmd, "--cluster-id names one cluster; a pass over several contexts uses each cluster's own identity")
	}
	seen := map[string]bool{}
	for _, c := range o.Contexts {
		if seen[c] {
			return cmdutil.UsageErrorf(cmd, "--context %s is given twice", c)
		}
		seen[c] = true
	}
	for flag, m := range map[string]map[string]string{"--elb-endpoints": o.ELBEndpoints, "--elb-project-ids": o.ELBProjectIDs} {
		for region, v := range m {
			if !lbv1.ValidRegionName(region) {
				return cmdutil.UsageErrorf(cmd, "%s: %q is not a region name (such as cn-north-4)", flag, region)
			}
			if v == "" {
				return cmdutil.UsageErrorf(cmd, "%s: region %s has an empty value", flag, region)
			}
		}
	}
	if err := o.validateWatch(); err != nil {
		return cmdutil.UsageErrorf(cmd, "%v", err)
	}
	if cmd.Flags().Changed("cluster-id") {
		if err := poolsync.ValidateClusterID(o.ClusterID); err != nil {
			return cmdutil.UsageErrorf(cmd, "invalid --cluster-id: %v", err)
		}
	}
	return nil
}

// Report is the -o json|yaml document.
type Report struct {
	Kind    string            `json:"kind"`
	DryRun  bool              `json:"dryRun"`
	Results []poolsync.Result `json:"results"`
	Summary Summary           `json:"summary"`
	// Regions splits the summary by the pools' region, when the pass
	// reached more than one; "" is the pass's own region when it has no
	// name (--elb-endpoint without --region).
	Regions []RegionSummary `json:"regions,omitempty"`
	// Contexts splits the summary by cliconfig context, in a pass over
	// several clusters; a context that could not be synced has its error.
	Contexts []ContextSummary `json:"contexts,omitempty"`
}

// Summary counts the bindings by outcome.
type Summary struct {
	Bindings int `json:"bindings"`
	InSync   int `json:"inSync"`
	Pending  int `json:"pending"`
	Failed   int `json:"failed"`
	Added    int `json:"added"`
	Removed  int `json:"removed"`
}

func (s *Summary) count(r poolsync.Result) {
	s.Bindings++
	switch {
	case r.InSync():
		s.InSync++
	case r.State == poolsync.StatePending:
		s.Pending++
	default:
		s.Failed++
	}
	s.Added += r.Added
	s.Removed += r.Removed
}

// Run performs the pass.
func (o *SyncOptions) Run(ctx context.Context) error {
	if o.Timeout > 0 && !o.Watch {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	if o.Watch {
		return o.runWatch(ctx)
	}
	if o.elbTransport == nil {
		// Every ELB write checks the pool lock it is made under
		// (pkg/fence), as the controller's writes do.
		o.elbTransport = fence.Transport
	}
	if o.multiCluster() {
		return o.runContexts(ctx)
	}
	p, err := o.pass(ctx)
	if err != nil || p == nil {
		return err
	}
	if err := o.printReport(p.Results, nil, map[string]string{"": p.OwnRegion}); err != nil {
		return err
	}
	if err := exitFor(p.Results, o.DryRun, o.ExitCode); err != nil {
		return err
	}
	if p.StatusErr != nil {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError, Err: p.StatusErr}
	}
	return nil
}

// pass syncs the bindings of one cluster (o.factory's context) with the
// driver (pkg/syncdriver); nil and no error: nothing was selected.
func (o *SyncOptions) pass(ctx context.Context) (*syncdriver.PassResult, error) {
	d, err := syncdriver.New(o.factory, o.driverOptions())
	if err != nil {
		return nil, err
	}
	p, err := d.RunOnce(ctx)
	if err != nil {
		return nil, err
	}
	if p.Results == nil {
		if o.AllNamespaces || o.Namespace == "" {
			fmt.Fprintln(o.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.Namespace)
		}
		if len(o.Names) > 0 {
			return nil, fmt.Errorf("poolbindings %q not found", o.Names)
		}
		return nil, nil
	}
	return p, nil
}

// printReport prints results; contexts is the per-context summary of a
// pass over several clusters, whose one-line output names each result's
// context first ("ctx-a: poolbinding/web: ..."); ownRegions names, by
// context, the region of the results without one.
func (o *SyncOptions) printReport(results []poolsync.Result, contexts []ContextSummary, ownRegions map[string]string) error {
	if o.Output == "" {
		for _, r := range results {
			if r.Context != "" {
				fmt.Fprint(o.Out, r.Context+": ")
			}
			fmt.Fprintln(o.Out, r.Line())
		}
		return nil
	}
	rep := Report{Kind: "SyncReport", DryRun: o.DryRun, Results: results, Contexts: contexts}
	if rep.Results == nil {
		rep.Results = []poolsync.Result{}
	}
	byRegion := map[string]*Summary{}
	var regions []string
	for _, r := range results {
		region := r.Region
		if region == "" {
			region = ownRegions[r.Context]
		}
		if byRegion[region] == nil {
			byRegion[region] = &Summary{}
			regions = append(regions, region)
		}
		rep.Summary.count(r)
		byRegion[region].count(r)
	}
	if len(regions) > 1 {
		sort.Strings(regions)
		for _, region := range regions {
			rep.Regions = append(rep.Regions, RegionSummary{Region: region, Summary: *byRegion[region]})
		}
	}
	data, err := json.MarshalIndent(rep, "", "    ")
	if err != nil {
		return err
	}
	if o.Output == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
		_, err = o.Out.Write(data)
		return err
	}
	_, err = fmt.Fprintf(o.Out, "%s\n", data)
	return err
}

// RegionSummary counts one region's bindings by outcome, in reports of a
// pass over more than one region.
type RegionSummary struct {
	Region string `json:"region"`
	Summary
}

// exitFor maps results to the documented exit codes.
func exitFor(results []poolsync.Result, dryRun, exitCode bool) error {
	failed, pending := 0, 0
	for _, r := range results {
		switch {
		case r.InSync():
		case r.State == poolsync.StatePending:
			pending++
		default:
			failed++
		}
	}
	if failed > 0 {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError, Err: fmt.Errorf("%d of %d PoolBindings are not in sync", failed, len(results))}
	}
	if pending > 0 && dryRun && exitCode {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitChanges}
	}
	if pending > 0 && !dryRun {
		return errors.New("internal error: a pass that is not a dry run left changes pending")
	}
	return nil
}
