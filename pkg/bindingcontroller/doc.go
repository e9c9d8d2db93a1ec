// Package bindingcontroller runs the PoolBinding reconcile pipeline
// continuously (`ccictl sync --watch`): informers keep trimmed caches of
// PoolBindings, Services and EndpointSlices (or Pods), every change that can
// move a binding's endpoints puts the binding's key on a work queue, and N
// workers hand the keys to a Reconciler, one key at a time per binding. The
// package is built on client-go's machinery (informers, workqueue,
// tools/leaderelection, tools/record) and does not import cobra or pkg/cmd.
//
// # Contract
//
// The caller implements Reconciler over the one-shot pipeline and reads its
// inputs from the controller's caches (Bindings, Services, EndpointSlices,
// Pods); New builds the controller from a Config and Run blocks until its
// context ends:
//
//	c, err := bindingcontroller.New(bindingcontroller.Config{Kube: kube, Dynamic: dyn, Reconciler: r, ...})
//	go bindingcontroller.ListenAndServe(ctx, ":8080", c.Handler())
//	err = c.Run(ctx) // returns after releasing the Lease
//
// Reconcile(ctx, key) is called with the key of a selected binding when it,
// its Service, or that Service's EndpointSlices (Pods with Config.Pods)
// changed, when the binding's own resync period has passed, and after a
// failure once its backoff has passed. The key may name a binding that is
// gone from the cache (deleted: Bindings().Get returns NotFound) or that no
// longer matches Config.Selector (its labels changed): the Reconciler
// decides what that means (finalizers, cleanup). Keys are never processed
// concurrently with themselves. The ctx of Reconcile is cancelled when the
// replica loses its leadership, and at shutdown after Config.ShutdownGrace.
//
// The Outcome says what comes next: Err set backs the key off (per key,
// exponential from Config.BaseBackoff, capped at Config.MaxBackoff, reset by
// the next success); RequeueAfter > 0 brings it back after that delay (gates
// pending, health polling); otherwise it is reconciled again after
// Config.ResyncPeriod (plus up to 10 % jitter) to repair ELB drift. A
// deleted binding, or one no longer selected, is not resynced. Result labels
// the ccictl_reconciles_total metric.
//
// # Caches
//
// The Bindings lister holds every PoolBinding of the namespace scope (not
// only the selected ones: owner lookups must see every live binding); only
// bindings matching Config.Selector are queued. Cached objects are trimmed
// (see transform.go): managedFields and the last-applied annotation are
// dropped everywhere, and Pods and EndpointSlices keep only what
// pkg/endpoints and readiness gates read. Never write a cached object back
// with Update: patch the fields you change.
//
// # Events that do not queue
//
// An update whose resourceVersion did not change (an informer re-list) and
// a PoolBinding update that changed only its status (same generation,
// deletionTimestamp, finalizers, labels and annotations) queue nothing; nor
// does an update of a Service, EndpointSlice or Pod whose trimmed object is
// unchanged (e.g. a container restart count). Informers never resync on
// their own (period 0): the per-binding resync above is the only periodic
// work, so an idle cluster costs no reconciles between resyncs.
//
// # High availability
//
// With Config.LeaderElection set, every replica runs the informers (a warm
// standby) but only the holder of the coordination.k8s.io Lease runs
// workers. When Run's context ends the leader stops taking keys, lets
// in-flight reconciles finish for ShutdownGrace, cancels the rest, waits for
// them (bounded), and only then releases the Lease, so that a standby takes
// over at its next retry (RetryPeriod) and two replicas never reconcile at
// once. A leader that cannot renew stops its workers at once and campaigns
// again as a standby.
//
// A term lasts until the renew deadline counted on this process's clock
// from the last successful renewal (see termLock), not until client-go's
// elector gives up. The workers' context carries the term as a fence guard
// (pkg/fence): writes made with a client wrapped in fence.Transport check
// it, and the pool lock's, right before they are sent.
package bindingcontroller
