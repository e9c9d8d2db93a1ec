package synccmd

import (
	"context"
	"fmt"

	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/syncdriver"
)

// ContextSummary counts one context's bindings by outcome, in reports of a
// pass over several clusters.
type ContextSummary struct {
	Context string `json:"context"`
	// Error says why the context could not be synced at all (its API
	// server unreachable, no PoolBindings served, …).
	Error string `json:"error,omitempty"`
	Summary
}

func (o *SyncOptions) multiCluster() bool { return len(o.Contexts) > 1 || o.AllContexts }

// runContexts syncs the bindings of each context in turn, each with its
// own cluster's identity in the ownership markers (the UID of its
// kube-system namespace), so that one pool fed from several clusters holds
// the union of their endpoints and no cluster's pass removes another's
// members. A context that fails is reported and the others still run; the
// exit code covers them all.
func (o *SyncOptions) runContexts(ctx context.Context) error {
	var (
		all        []poolsync.Result
		summaries  []ContextSummary
		errs       []error
		ownRegions = map[string]string{}
	)
	for _, name := range o.Contexts {
		conn := *o.factory.Connection
		conn.Context = name
		f := cmdutil.NewFactory(o.factory.IOStreams, &conn)
		f.Settings = o.factory.Settings
		one := *o
		one.factory = f
		one.Contexts, one.AllContexts = nil, false
		sum := ContextSummary{Context: name}
		ns, _, err := f.Namespace()
		if err == nil {
			if !o.namespaceGiven() {
				one.Namespace = ns
			}
			var p *syncdriver.PassResult
			if p, err = one.pass(ctx); p != nil {
				for i := range p.Results {
					p.Results[i].Context = name
					sum.count(p.Results[i])
				}
				all = append(all, p.Results...)
				ownRegions[name] = p.OwnRegion
				if p.StatusErr != nil {
					errs = append(errs, fmt.Errorf("context %s: %w", name, p.StatusErr))
				}
			}
		}
		if err != nil {
			sum.Error = redact.String(err.Error())
			fmt.Fprintf(o.ErrOut, "error: context %s: %s\n", name, sum.Error)
			errs = append(errs, fmt.Errorf("context %s: %w", name, err))
		}
		summaries = append(summaries, sum)
	}
	if err := o.printReport(all, summaries, ownRegions); err != nil {
		return err
	}
	if err := exitFor(all, o.DryRun, o.ExitCode); err != nil {
		return err
	}
	if len(errs) > 0 {
		// Already printed per context; the exit code says the pass failed.
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError, Err: fmt.Errorf("%d of %d contexts could not be synced completely", len(errs), len(o.Contexts))}
	}
	return nil
}

// namespaceGiven reports whether -n was given (or set from the settings):
// then every context syncs that namespace; otherwise each its own default.
func (o *SyncOptions) namespaceGiven() bool { return o.factory.Connection.Namespace != "" }
