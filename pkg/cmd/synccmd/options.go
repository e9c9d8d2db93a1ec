package synccmd

import (
	"fmt"

	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/syncdriver"
)

// driverOptions maps the flags of one-shot sync to the driver's options;
// runWatch changes what differs for the controller.
func (o *SyncOptions) driverOptions() syncdriver.Options {
	return syncdriver.Options{
		Namespace: o.Namespace, AllNamespaces: o.AllNamespaces, Names: o.Names, LabelSelector: o.LabelSelector,
		ClusterID: o.ClusterID, SubnetCIDRID: o.SubnetCIDRID, NoStatus: o.NoStatus,
		Policy: o.policy(),
		Locks:  syncdriver.LockOptions{Namespace: o.LockNamespace, NoWait: o.NoWaitLock},
		ELB:    o.elbOptions(), NewELBClient: o.factory.NewELBClient,
		Notices: syncdriver.Notices{
			Warn: func(s string) { fmt.Fprintln(o.ErrOut, "Warning: "+redact.String(s)) },
			LocksUnavailable: func(err error) {
				fmt.Fprintf(o.ErrOut, "Warning: %v; each binding re-reads its endpoints and members right before removing instead\n", redact.Error(err))
			},
			WaitingForLock: func(lease, holder string) {
				fmt.Fprintf(o.ErrOut, "Waiting for pool lock %s (Lease held by %s)\n", lease, holder)
			},
			Log: o.ErrOut,
		},
	}
}

// policy is the pass's policy from the flags, the same for one-shot and
// --watch.
func (o *SyncOptions) policy() poolsync.Policy {
	return poolsync.Policy{
		DryRun:         o.DryRun,
		AllowEmpty:     o.AllowEmpty,
		PruneOrphans:   o.PruneOrphans,
		Concurrency:    o.Concurrency,
		MemberQuota:    o.MemberQuota,
		WaitHealthy:    o.WaitHealthy,
		HealthTimeout:  o.HealthTimeout,
		HealthInterval: o.HealthInterval,
	}
}

// elbOptions maps the flags and the factory's configuration to the ELB
// client's options (the driver adds the cluster's address and iam block).
func (o *SyncOptions) elbOptions() elbconfig.Options {
	eo := elbconfig.Options{
		ProjectID:      o.ProjectID,
		Region:         o.Region,
		Endpoint:       o.ELBEndpoint,
		Endpoints:      o.ELBEndpoints,
		ProjectIDs:     o.ELBProjectIDs,
		Concurrency:    o.Concurrency,
		RequestTimeout: o.ELBRequestTimeout,
		CacheDir:       o.factory.Connection.CacheDir,
		Token:          o.factory.Settings.GetString("elb-token"),
		WrapTransport:  o.elbTransport,
	}
	if o.Watch {
		eo.Retry = watchRetry
	}
	return eo
}
