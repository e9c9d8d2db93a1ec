package poolsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

const (
	testProject = "0123456789abcdef0123456789abcdef"
	testToken   = "test-token"
)

// tokenTransport authenticates like the product's X-Auth-Token round-tripper.
type tokenTransport struct{ next http.RoundTripper }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", testToken)
	return t.next.RoundTrip(r)
}

type env struct {
	emu    *elbemulator.Emulator
	client elb.Client
	url    string
}

func newEnv(t *testing.T, opts elbemulator.Options) *env {
	t.Helper()
	opts.ProjectID, opts.Token = testProject, testToken
	if opts.MemberQuota == 0 {
		opts.MemberQuota = 10000
	}
	emu := elbemulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := elb.New(elb.Config{
		Endpoint:  srv.URL,
		ProjectID: testProject,
		Transport: tokenTransport{srv.Client().Transport},
		// Fast retries keep fault tests quick; enough attempts to ride out
		// the injected fault patterns.
		Retry: elb.RetryPolicy{MaxAttempts: 10, Initial: time.Millisecond, Max: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, client: c, url: srv.URL}
}

func (e *env) pool(t *testing.T, id string, lbs ...string) string {
	t.Helper()
	p := elb.Pool{ID: id}
	for _, lb := range lbs {
		p.Loadbalancers = append(p.Loadbalancers, elb.Ref{ID: lb})
	}
	return e.emu.CreatePool(p).ID
}

func (e *env) direct(t *testing.T, poolID, name, addr string, port int32) elb.Member {
	t.Helper()
	m, err := e.emu.AddMemberDirect(poolID, elb.Member{Name: name, Address: addr, ProtocolPort: port})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantCounts compares the emulator's per-operation counters (no
// batch-update expected), then resets them.
func (e *env) wantCounts(t *testing.T, get, list, add, del int) {
	t.Helper()
	e.wantCountsUpd(t, get, list, add, 0, del)
}

// wantCountsUpd is wantCounts with batch-update calls.
func (e *env) wantCountsUpd(t *testing.T, get, list, add, upd, del int) {
	t.Helper()
	c := e.emu.Counts()
	got := [5]int{c["GetPool"], c["ListMembers"], c["BatchAddMembers"], c["BatchUpdateMembers"], c["BatchDeleteMembers"]}
	if want := [5]int{get, list, add, upd, del}; got != want {
		t.Errorf("calls (get, list, add, update, delete) = %v, want %v", got, want)
	}
	e.emu.ResetCounts()
}

func binding(name, uid, poolID string) *lbv1.PoolBinding {
	return &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(uid), Generation: 3},
		Spec: lbv1.PoolBindingSpec{
			PoolRef:   lbv1.PoolRef{ID: poolID},
			TargetRef: lbv1.TargetRef{Kind: "Service", Group: "cci/v2", Name: "web", Port: 80},
		},
	}
}

// eps returns n endpoints 10.<i/250>.<i%250>.1:8080.
func eps(from, n int) []Endpoint {
	out := make([]Endpoint, 0, n)
	for i := from; i < from+n; i++ {
		out = append(out, Endpoint{Address: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), Port: 8080})
	}
	return out
}

// wantPool checks the pool holds exactly the desired endpoints under the
// binding's marker, plus the given foreign member IDs, each key once.
func (e *env) wantPool(t *testing.T, poolID string, b *lbv1.PoolBinding, desired []Endpoint, foreignIDs ...string) {
	t.Helper()
	marker := Marker(ownerOf(b, testCluster))
	want := map[string]bool{}
	for _, d := range desired {
		want[d.String()] = true
	}
	foreign := map[string]bool{}
	for _, id := range foreignIDs {
		foreign[id] = true
	}
	seen := map[string]bool{}
	for _, m := range e.emu.Members(poolID) {
		k := Endpoint{Address: m.Address, Port: m.ProtocolPort}.String()
		if seen[k] {
			t.Fatalf("duplicate member at %s", k)
		}
		seen[k] = true
		switch {
		case foreign[m.ID]:
			delete(foreign, m.ID)
			delete(want, k)
		case m.Name == marker && want[k]:
			delete(want, k)
		default:
			t.Fatalf("unexpected member %+v", m)
		}
	}
	if len(want) > 0 || len(foreign) > 0 {
		t.Fatalf("pool lacks %d desired endpoints and %d foreign members", len(want), len(foreign))
	}
}

func wantState(t *testing.T, r Result, state, reason string) {
	t.Helper()
	if r.State != state || r.Reason != reason {
		t.Fatalf("state/reason = %s/%s, want %s/%s (message %q, errors %v)", r.State, r.Reason, state, reason, r.Message, r.Errors)
	}
}

func TestSyncFromEmptyScaleUpDown(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	ctx := context.Background()

	// From empty: 450 adds in ⌈450/200⌉ = 3 calls.
	r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 450)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Added != 450 || r.Removed != 0 || r.Registered != 450 || r.Desired != 450 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 3, 0)
	e.wantPool(t, pid, b, eps(0, 450))

	// No-op pass: reads only.
	r = Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 450)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateInSync, ReasonInSync)
	if r.Kept != 450 || r.Added != 0 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 0, 0)

	// Scale down to 10: 440 deletes in 3 calls.
	r = Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 10)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Removed != 440 || r.Kept != 10 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 0, 3)
	e.wantPool(t, pid, b, eps(0, 10))

	// Rolling replacement: 5 new, 5 old go, 5 stay. One add, one delete.
	r = Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(5, 10)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Added != 5 || r.Removed != 5 || r.Kept != 5 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 1, 1)
	e.wantPool(t, pid, b, eps(5, 10))
}

func TestSyncListsLargePoolInPages(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-big")
	var foreign []string
	for i := 0; i < 2500; i++ {
		foreign = append(foreign, e.direct(t, pid, "", fmt.Sprintf("10.2.%d.%d", i/250, i%250+1), 80).ID)
	}
	b := binding("web", "uid-1", pid)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	// 2500 members: ⌈2500/2000⌉ = 2 list calls.
	e.wantCounts(t, 1, 2, 1, 0)
	if r.Foreign != 2500 {
		t.Fatalf("foreign = %d", r.Foreign)
	}
	e.wantPool(t, pid, b, eps(0, 3), foreign...)
}

func TestSyncLeavesForeignMembers(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	desired := eps(0, 3)
	f1 := e.direct(t, pid, "", "10.9.0.1", 80)                 // unnamed, not desired
	f2 := e.direct(t, pid, "ccictl:ns/web", "10.9.0.2", 80)    // look-alike
	f3 := e.direct(t, pid, "manual", desired[1].Address, 8080) // at a desired endpoint
	f4 := e.direct(t, pid, Marker(Owner{"ns", "api", "uid-live", testCluster}), "10.9.0.3", 80)

	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Added != 2 || r.Foreign != 4 || r.Registered != 3 || r.Plan.Conflicts != 1 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 1, 0)
	e.wantPool(t, pid, b, desired, f1.ID, f2.ID, f3.ID, f4.ID)

	// Even with nothing desired and AllowEmpty, foreign members stay.
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: nil}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateSynced, ReasonSynced)
	e.wantPool(t, pid, b, nil, f1.ID, f2.ID, f3.ID, f4.ID)
}

func TestSyncOrphansPrunedOnlyWhenAsked(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	// The binding was deleted and re-created with the same name: new uid.
	b := binding("web", "uid-new", pid)
	old := e.direct(t, pid, Marker(Owner{"ns", "web", "uid-old", testCluster}), "10.9.0.1", 8080)
	gone := e.direct(t, pid, Marker(Owner{"ns", "gone", "uid-gone", testCluster}), "10.9.0.2", 8080)
	live := e.direct(t, pid, Marker(Owner{"ns", "api", "uid-api", testCluster}), "10.9.0.3", 8080)
	owners := NewOwnerLookup([]Owner{{"ns", "web", "uid-new", testCluster}, {"ns", "api", "uid-api", testCluster}}, []string{"ns"})
	target := Target{Binding: b, Endpoints: eps(0, 2)}

	r := Sync(context.Background(), e.client, target, Options{Policy: Policy{ClusterID: testCluster}, Hooks: Hooks{Owners: owners}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Orphans != 2 || r.Removed != 0 {
		t.Fatalf("result %+v", r)
	}
	e.wantPool(t, pid, b, eps(0, 2), old.ID, gone.ID, live.ID)
	if !r.PoolRead {
		t.Fatalf("result %+v: the counts come from the pool", r)
	}

	e.emu.ResetCounts()
	r = Sync(context.Background(), e.client, target, Options{Policy: Policy{ClusterID: testCluster, PruneOrphans: true}, Hooks: Hooks{Owners: owners}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Removed != 2 || r.Plan.Prune != 2 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 0, 1)
	e.wantPool(t, pid, b, eps(0, 2), live.ID)
}

func TestSyncPoolConstraintViolation(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1", "lb-other", "lb-svc")
	b := binding("web", "uid-1", pid)
	stale := e.direct(t, pid, Marker(ownerOf(b, testCluster)), "10.9.0.1", 8080)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2), ServiceELBID: "lb-svc"}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonPoolConstraintViolated)
	e.wantCounts(t, 1, 0, 0, 0)
	if ms := e.emu.Members(pid); len(ms) != 1 || ms[0].ID != stale.ID {
		t.Fatalf("pool changed: %+v", ms)
	}

	// Another load balancer's pool is fine.
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2), ServiceELBID: "lb-x"}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
}

func TestSyncEmptyDesired(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	ctx := context.Background()
	if r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatalf("setup: %+v", r)
	}
	e.emu.ResetCounts()

	r := Sync(ctx, e.client, Target{Binding: b}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonEmptyRefused)
	if r.Blocked != BlockedEmptyRefused || r.Plan.Withheld != 3 || r.InSync() {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 0, 0)
	e.wantPool(t, pid, b, eps(0, 3))

	r = Sync(ctx, e.client, Target{Binding: b}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateSynced, ReasonSynced)
	e.wantCounts(t, 1, 1, 0, 1)
	if n := len(e.emu.Members(pid)); n != 0 {
		t.Fatalf("%d members left", n)
	}
}

func TestSyncIncompleteNeverRemoves(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	ctx := context.Background()
	if r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatalf("setup: %+v", r)
	}
	e.emu.ResetCounts()

	// Service missing: no endpoints, so not even a read.
	missing := fmt.Errorf("service ns/web: %w", endpoints.ErrServiceNotFound)
	r := Sync(ctx, e.client, Target{Binding: b, ResolveErr: missing}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateBlocked, ReasonServiceNotFound)
	e.wantCounts(t, 0, 0, 0, 0)
	e.wantPool(t, pid, b, eps(0, 3))
	if r.PoolRead || r.Desired != 0 {
		t.Fatalf("result %+v: nothing was read", r)
	}

	// Partial read: adds what it knows, removes nothing.
	partial := errors.New("pods list truncated")
	r = Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(2, 3), ResolveErr: partial}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateBlocked, ReasonEndpointsUnresolved)
	if r.Added != 2 || r.Removed != 0 || r.Plan.Withheld != 2 {
		t.Fatalf("result %+v", r)
	}
	e.wantCounts(t, 1, 1, 1, 0)
	e.wantPool(t, pid, b, eps(0, 5))
}

func TestSyncDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	e.direct(t, pid, Marker(ownerOf(b, testCluster)), "10.9.0.1", 8080)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster, DryRun: true}})
	wantState(t, r, StatePending, ReasonChangesPending)
	if r.Plan.Add != 3 || r.Plan.Remove != 1 || r.Added != 0 || len(r.Plan.ToAdd) != 3 || len(r.Plan.ToRemove) != 1 {
		t.Fatalf("result %+v", r)
	}
	if got := r.Line(); got != "poolbinding/web: +3 -1 =0 foreign=0 (dry run)" {
		t.Fatalf("line %q", got)
	}
	e.wantCounts(t, 1, 1, 0, 0)
	if n := len(e.emu.Members(pid)); n != 1 {
		t.Fatalf("dry run changed the pool: %d members", n)
	}
}

func TestSyncAddFailureStopsRemoval(t *testing.T) {
	// The pool holds 3 owned members; replacing them needs 3 adds first,
	// which the ELB refuses (weight out of range). Nothing may be removed
	// then. (A quota refusal is not a failure: see TestSyncStagesAtFullQuota.)
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	ctx := context.Background()
	if r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatalf("setup: %+v", r)
	}
	e.emu.ResetCounts()
	bad := int32(101)
	r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(10, 3)}, Options{Policy: Policy{ClusterID: testCluster, Weight: &bad}})
	wantState(t, r, StateFailed, ReasonELBError)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "ELB.1001") {
		t.Fatalf("errors %v", r.Errors)
	}
	e.wantCounts(t, 1, 1, 1, 0)
	e.wantPool(t, pid, b, eps(0, 3))
}

func TestSyncConvergesUnderFaults(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	e.emu.SetFaults(elbemulator.Faults{ThrottleFirst: 2, ThrottleEvery: 3, FailEvery: 4})
	ctx := context.Background()
	r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 450)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	r = Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(300, 200)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	c := e.emu.Counts()
	if c["Throttled"] == 0 || c["Faulted"] == 0 {
		t.Fatalf("faults were not injected: %v", c)
	}
	e.emu.SetFaults(elbemulator.Faults{})
	e.wantPool(t, pid, b, eps(300, 200))
	if r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(300, 200)}, Options{Policy: Policy{ClusterID: testCluster}}); r.State != StateInSync {
		t.Fatalf("not converged: %+v", r)
	}
}

func TestSyncConcurrentSameBinding(t *testing.T) {
	e := newEnv(t, elbemulator.Options{Latency: 2 * time.Millisecond})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	ctx := context.Background()
	if r := Sync(ctx, e.client, Target{Binding: b, Endpoints: eps(0, 300)}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatalf("setup: %+v", r)
	}
	target := Target{Binding: b, Endpoints: eps(150, 300)}
	var wg sync.WaitGroup
	results := make([]Result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = Sync(ctx, e.client, target, Options{Policy: Policy{ClusterID: testCluster}})
		}()
	}
	wg.Wait()
	for i, r := range results {
		if !r.InSync() {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	e.wantPool(t, pid, b, eps(150, 300))
	// Together they did the work once: what one found done, the other did.
	if a, d := results[0].Added+results[1].Added-results[0].Existed-results[1].Existed,
		results[0].Removed+results[1].Removed-results[0].NotFound-results[1].NotFound; a != 150 || d != 150 {
		t.Fatalf("fresh adds %d, fresh removals %d, want 150 each", a, d)
	}
}

func TestRunManyBindings(t *testing.T) {
	e := newEnv(t, elbemulator.Options{Latency: time.Millisecond})
	var targets []Target
	for i := 0; i < 6; i++ {
		pid := e.pool(t, fmt.Sprintf("pool-%d", i))
		targets = append(targets, Target{Binding: binding(fmt.Sprintf("b%d", i), fmt.Sprintf("uid-%d", i), pid), Endpoints: eps(i, 5)})
	}
	// A binding whose pool does not exist fails alone.
	targets[2].Binding.Spec.PoolRef.ID = "no-such-pool"
	res := Run(context.Background(), e.client, targets, Options{Policy: Policy{ClusterID: testCluster, Concurrency: 3}})
	if len(res) != len(targets) {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		if r.Name != targets[i].Binding.Name {
			t.Fatalf("result %d is for %s", i, r.Name)
		}
		if i == 2 {
			wantState(t, r, StateFailed, ReasonPoolNotFound)
			continue
		}
		wantState(t, r, StateSynced, ReasonSynced)
		e.wantPool(t, targets[i].Binding.Spec.PoolRef.ID, targets[i].Binding, eps(i, 5))
	}
	e.wantCounts(t, 6, 5, 5, 0)
}

func TestRunCancelled(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Run(ctx, e.client, []Target{{Binding: binding("web", "uid-1", pid), Endpoints: eps(0, 3)}}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, res[0], StateFailed, ReasonCanceled)
	e.wantCounts(t, 0, 0, 0, 0)

	// Cancelled while waiting on a slow API: the pass returns promptly.
	e.emu.SetLatency(5 * time.Second)
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Sync(ctx, e.client, Target{Binding: binding("web", "uid-1", pid), Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}})
	if r.State != StateFailed || (r.Reason != ReasonTimeout && r.Reason != ReasonCanceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("result %+v after %v", r, time.Since(start))
	}
	e.emu.SetLatency(0)
	if n := len(e.emu.Members(pid)); n != 0 {
		t.Fatalf("%d members after a cancelled pass", n)
	}
}

func TestSyncInvalidBinding(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	for _, b := range []*lbv1.PoolBinding{nil, binding("web", "", "pool-1"), binding("web", "uid", "")} {
		r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 1)}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateFailed, ReasonInvalidBinding)
	}
	e.wantCounts(t, 0, 0, 0, 0)
}

func TestResultMarshalsStably(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-1", pid)
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: []Endpoint{{Address: "10.0.0.2", Port: 80}, {Address: "10.0.0.1", Port: 80}}}, Options{Policy: Policy{ClusterID: testCluster, DryRun: true}})
	j1, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"binding":"ns/web","namespace":"ns","name":"web","uid":"uid-1","poolId":"pool-1","state":"Pending","reason":"ChangesPending",` +
		`"message":"would add 2 and remove 0 member(s)","dryRun":true,"plan":{"desired":2,"current":0,"add":2,"remove":0,"keep":0,` +
		`"foreign":0,"orphans":0,"conflicts":0,"withheld":0,"transition":0,"prune":0,"update":0,"draining":0,"quota":10000,"quotaSource":"api","rounds":1,"short":0,"toAdd":[{"name":"ccictl:c1-3f6b2a90:ns/web:uid-1","address":"10.0.0.1","port":80},` +
		`{"name":"ccictl:c1-3f6b2a90:ns/web:uid-1","address":"10.0.0.2","port":80}],"toRemove":[],"toUpdate":[],"rename":0,"toRename":[],"conflicting":[]},"added":0,"removed":0,` +
		`"existed":0,"notFound":0,"updated":0,"renamed":0,"desired":2,"registered":0,"kept":0,"foreign":0,"orphans":0,"draining":0,"unknownZone":0,"rounds":0,` +
		`"warnings":["pool pool-1 belongs to no load balancer and no listener: its members take no traffic"]}`
	if string(j1) != want {
		t.Fatalf("json:\n%s\nwant\n%s", j1, want)
	}
	y, err := yaml.Marshal(r)
	if err != nil || !strings.Contains(string(y), "poolId: pool-1\n") || !strings.Contains(string(y), "toRemove: []\n") {
		t.Fatalf("yaml:\n%s (%v)", y, err)
	}
}

func TestFinishInconsistentRead(t *testing.T) {
	cur := []elb.Member{mem("a", selfMark, "10.0.0.1", 80), mem("a", selfMark, "10.0.0.2", 80)}
	p := ComputePlan([]Endpoint{ep("10.0.0.1", 80)}, cur, self, PlanOptions{})
	var r Result
	r.finish(p, nil, false, &rounds{hb: newHealthBook(nil)})
	wantState(t, r, StateBlocked, ReasonInconsistentRead)
}

// weights is the pool's content as "ip:port" → weight.
func (e *env) weights(poolID string) map[string]int32 {
	out := map[string]int32{}
	for _, m := range e.emu.Members(poolID) {
		out[Endpoint{Address: m.Address, Port: m.ProtocolPort}.String()] = m.Weight
	}
	return out
}

// TestSyncDrainsTerminatingEndpoints: on an HTTP pool a terminating but
// serving endpoint's member goes to weight 0 and stays; once the endpoint is
// gone it is removed; a foreign member's weight is never changed.
func TestSyncDrainsTerminatingEndpoints(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", Protocol: "HTTP"}).ID
	b := binding("web", "uid-1", pid)
	all := eps(0, 4)
	foreign, err := e.emu.AddMemberDirect(pid, elb.Member{Name: "manual", Address: "10.9.9.9", ProtocolPort: 8080, Weight: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatal(r.Line())
	}
	e.emu.ResetCounts()

	// Two pods terminate while still serving; a third is gone. The foreign
	// member sits at a terminating endpoint of its own.
	tgt := Target{Binding: b, Endpoints: all[:1], Draining: append(slices.Clone(all[1:3]), Endpoint{Address: "10.9.9.9", Port: 8080})}
	r := Sync(context.Background(), e.client, tgt, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Draining != 2 || r.Updated != 2 || r.Removed != 1 || r.Plan.Update != 2 || len(r.Plan.ToUpdate) != 2 ||
		r.Plan.ToUpdate[0].From != 1 || r.Plan.ToUpdate[0].To != 0 || r.Plan.ToUpdate[0].Reason != UpdateDrain {
		t.Fatalf("result %+v", r)
	}
	if line := r.Line(); line != "poolbinding/web: +0 -1 =1 foreign=1 draining=2 weights=2" {
		t.Fatalf("line %q", line)
	}
	e.wantCountsUpd(t, 1, 1, 0, 1, 1)
	w := e.weights(pid)
	if len(w) != 4 || w[all[0].String()] != 1 || w[all[1].String()] != 0 || w[all[2].String()] != 0 || w["10.9.9.9:8080"] != 3 {
		t.Fatalf("weights %v", w)
	}
	if r.Registered != 1 || !r.PoolRead {
		t.Fatalf("result %+v", r)
	}

	// Same state again: nothing to write, still draining.
	r = Sync(context.Background(), e.client, tgt, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateInSync, ReasonInSync)
	e.wantCountsUpd(t, 1, 1, 0, 0, 0)

	// One pod comes back ready (weight restored), the other is gone (removed).
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all[:2]}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Draining != 0 || r.Updated != 1 || r.Removed != 1 || r.Plan.ToUpdate[0].Reason != UpdateRestore {
		t.Fatalf("result %+v", r)
	}
	e.wantCountsUpd(t, 1, 1, 0, 1, 1)
	e.wantPool(t, pid, b, all[:2], foreign.ID)
	if w := e.weights(pid); w[all[1].String()] != 1 || w["10.9.9.9:8080"] != 3 {
		t.Fatalf("weights %v", w)
	}
}

// TestSyncDrainModes: a SOURCE_IP pool ignores weights, so terminating
// endpoints are removed at once, and the result says so; a TCP pool with
// connection_drain removes too (the ELB drains), and still restores weights.
func TestSyncDrainModes(t *testing.T) {
	for _, tc := range []struct {
		pool    elb.Pool
		updates int
		note    string
	}{
		{elb.Pool{ID: "p-src", Protocol: "HTTP", LBAlgorithm: "SOURCE_IP"}, 0,
			"lb_algorithm SOURCE_IP ignores weights: 1 member(s) of terminating endpoints removed without draining"},
		{elb.Pool{ID: "p-drain", Protocol: "TCP", ConnectionDrain: &elb.ConnectionDrain{Enable: true, Timeout: 30}}, 1,
			"connection_drain is enabled (timeout 30s): 1 member(s) of terminating endpoints removed, the ELB drains their connections"},
	} {
		t.Run(tc.pool.ID, func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{})
			pid := e.emu.CreatePool(tc.pool).ID
			b := binding("web", "uid-1", pid)
			all := eps(0, 2)
			if r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
				t.Fatal(r.Line())
			}
			// A weight changed by hand, and one endpoint terminating.
			ms := e.emu.Members(pid)
			nine := int32(9)
			if _, err := e.client.BatchUpdateMembers(context.Background(), pid, []elb.MemberUpdate{{ID: ms[0].ID, Weight: &nine}}); err != nil {
				t.Fatal(err)
			}
			e.emu.ResetCounts()
			r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all[:1], Draining: all[1:]}, Options{Policy: Policy{ClusterID: testCluster}})
			wantState(t, r, StateSynced, ReasonSynced)
			if r.Draining != 0 || r.Removed != 1 || r.Updated != tc.updates || len(r.Notes) != 1 || r.Notes[0] != tc.note {
				t.Fatalf("result %+v", r)
			}
			if !strings.Contains(r.Line(), "("+tc.note+")") {
				t.Fatalf("line %q lacks the note", r.Line())
			}
			e.wantCountsUpd(t, 1, 1, 0, tc.updates, 1)
			e.wantPool(t, pid, b, all[:1])
		})
	}
}

// TestSyncWarnsWeightZeroWithoutConnectionDrain: draining by weight 0 on a
// TCP/UDP/QUIC pool whose connection_drain is off warns, naming the pool, the
// setting and both copies of the vendor's FAQ, since one of them says weight
// 0 cuts existing connections at once; with --dry-run it warns of what it
// would do. HTTP pools, pools that drain themselves, and a pass that finds
// the members at weight 0 already do not warn.
func TestSyncWarnsWeightZeroWithoutConnectionDrain(t *testing.T) {
	for _, tc := range []struct {
		pool elb.Pool
		warn bool
	}{
		{elb.Pool{ID: "p-tcp", Protocol: "TCP"}, true},
		{elb.Pool{ID: "p-udp-off", Protocol: "UDP", ConnectionDrain: &elb.ConnectionDrain{Enable: false, Timeout: 60}}, true},
		{elb.Pool{ID: "p-quic", Protocol: "QUIC", LBAlgorithm: "ROUND_ROBIN"}, true},
		{elb.Pool{ID: "p-http", Protocol: "HTTP"}, false},
		{elb.Pool{ID: "p-tcp-drain", Protocol: "TCP", ConnectionDrain: &elb.ConnectionDrain{Enable: true, Timeout: 30}}, false},
	} {
		t.Run(tc.pool.ID, func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{})
			tc.pool.Listeners = []elb.Ref{{ID: "listener-1"}} // a pool that takes traffic, so the only warning is ours
			pid := e.emu.CreatePool(tc.pool).ID
			b := binding("web", "uid-1", pid)
			all := eps(0, 2)
			if r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() || len(r.Warnings) != 0 {
				t.Fatalf("%s warnings %q", r.Line(), r.Warnings)
			}
			rolling := Target{Binding: b, Endpoints: all[:1], Draining: all[1:]}
			for _, dry := range []bool{true, false} {
				r := Sync(context.Background(), e.client, rolling, Options{Policy: Policy{ClusterID: testCluster, DryRun: dry}})
				if !tc.warn {
					if len(r.Warnings) != 0 {
						t.Fatalf("dry-run=%v: unexpected warnings %q", dry, r.Warnings)
					}
					continue
				}
				if len(r.Warnings) != 1 {
					t.Fatalf("dry-run=%v: %s: warnings %q, want one", dry, r.Line(), r.Warnings)
				}
				for _, want := range []string{"pool " + pid, "connection_drain off", "1 member(s)",
					"When Will Modified Weights Take Effect?",
					"https://support.huaweicloud.com/elb_faq/elb_faq_0125.html",
					"https://support.huaweicloud.com/intl/en-us/elb_faq/elb_faq_0125.html"} {
					if !strings.Contains(r.Warnings[0], want) {
						t.Fatalf("dry-run=%v: warning %q lacks %q", dry, r.Warnings[0], want)
					}
				}
			}
			if w := e.weights(pid); tc.warn && w[all[1].String()] != 0 {
				t.Fatalf("weights %v: the terminating endpoint's member is not at 0", w)
			}
			// The members are at weight 0 already: nothing changes, no warning again.
			if r := Sync(context.Background(), e.client, rolling, Options{Policy: Policy{ClusterID: testCluster}}); len(r.Warnings) != 0 {
				t.Fatalf("second pass: %s warnings %q", r.Line(), r.Warnings)
			}
		})
	}
}

// TestSyncBindingWeight: the weight annotation sets added members' weight
// and the weight kept members are restored to; an invalid value blocks the
// binding before any ELB call.
func TestSyncBindingWeight(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", Protocol: "HTTP"}).ID
	b := binding("web", "uid-1", pid)
	b.Annotations = map[string]string{lbv1.WeightAnnotation: "7"}
	if r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() || r.Updated != 0 {
		t.Fatal(r.Line())
	}
	for k, w := range e.weights(pid) {
		if w != 7 {
			t.Fatalf("%s added at weight %d, want 7", k, w)
		}
	}
	b.Annotations[lbv1.WeightAnnotation] = "100"
	e.emu.ResetCounts()
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster}})
	if !r.InSync() || r.Updated != 2 {
		t.Fatal(r.Line())
	}
	e.wantCountsUpd(t, 1, 1, 0, 1, 0)
	for _, bad := range []string{"101", "-1", "1.5", "", "heavy"} {
		b.Annotations[lbv1.WeightAnnotation] = bad
		r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateBlocked, ReasonInvalidWeight)
		if !strings.Contains(r.Message, lbv1.WeightAnnotation) || !strings.Contains(r.Message, fmt.Sprintf("%q", bad)) {
			t.Fatalf("message %q does not name the annotation and value", r.Message)
		}
		e.wantCountsUpd(t, 0, 0, 0, 0, 0)
	}
}

// TestSyncDrainRefusedWhenNothingReady: with every endpoint terminating,
// draining them all would empty the pool: refused without AllowEmpty.
func TestSyncDrainRefusedWhenNothingReady(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", Protocol: "HTTP"}).ID
	b := binding("web", "uid-1", pid)
	all := eps(0, 2)
	if r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: all}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatal(r.Line())
	}
	e.emu.ResetCounts()
	r := Sync(context.Background(), e.client, Target{Binding: b, Draining: all}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonEmptyRefused)
	if r.Message != "no ready endpoint; refusing to drain 2 member(s) to weight 0 without --allow-empty" {
		t.Fatalf("message %q", r.Message)
	}
	e.wantCountsUpd(t, 1, 1, 0, 0, 0)
	r = Sync(context.Background(), e.client, Target{Binding: b, Draining: all}, Options{Policy: Policy{ClusterID: testCluster, AllowEmpty: true}})
	wantState(t, r, StateSynced, ReasonSynced)
	e.wantCountsUpd(t, 1, 1, 0, 1, 0)
	for k, w := range e.weights(pid) {
		if w != 0 {
			t.Fatalf("%s at weight %d after draining", k, w)
		}
	}
}

// With --prune-orphans, the PoolBindings are read again before orphans are
// removed: a binding created after the pass's first read (here "late") is
// live, so its member stays. The re-read happens only when there are
// orphans, and a failed re-read removes nothing.
func TestSyncPruneOrphansRereadsOwners(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "pool-1")
	b := binding("web", "uid-web", pid)
	late := e.direct(t, pid, Marker(Owner{"ns", "late", "uid-late", testCluster}), "10.9.1.1", 8080)
	gone := e.direct(t, pid, Marker(Owner{"ns", "gone", "uid-gone", testCluster}), "10.9.1.2", 8080)
	before := NewOwnerLookup([]Owner{{"ns", "web", "uid-web", testCluster}}, []string{"ns"})
	now := NewOwnerLookup([]Owner{{"ns", "web", "uid-web", testCluster}, {"ns", "late", "uid-late", testCluster}}, []string{"ns"})
	reads := 0
	target := Target{Binding: b, Endpoints: eps(0, 1)}
	opts := Options{
		Policy: Policy{
			ClusterID:    testCluster,
			PruneOrphans: true,
		},
		Hooks: Hooks{
			Owners: before,
			ReadOwners: func(context.Context) (OwnerLookup, error) {
				reads++
				return now, nil
			},
		},
	}

	r := Sync(context.Background(), e.client, target, opts)
	wantState(t, r, StateSynced, ReasonSynced)
	if reads != 1 || r.Removed != 1 || r.Orphans != 1 {
		t.Fatalf("reads %d, result %+v: want one re-read, only the gone binding's member removed", reads, r)
	}
	e.wantPool(t, pid, b, eps(0, 1), late.ID)

	// No orphans (as the pass first read them): no re-read.
	reads = 0
	opts.Owners = now
	Sync(context.Background(), e.client, target, opts)
	if reads != 0 {
		t.Errorf("re-read %d times without orphans", reads)
	}

	// A failed re-read: blocked, nothing removed.
	gone = e.direct(t, pid, Marker(Owner{"ns", "gone", "uid-gone", testCluster}), "10.9.1.2", 8080)
	opts.Owners = NewOwnerLookup([]Owner{{"ns", "web", "uid-web", testCluster}}, []string{"ns"})
	opts.ReadOwners = func(context.Context) (OwnerLookup, error) { return nil, errors.New("connection refused") }
	r = Sync(context.Background(), e.client, target, opts)
	wantState(t, r, StateBlocked, ReasonEndpointsUnresolved)
	if !strings.Contains(r.Message, "connection refused") || r.Removed != 0 {
		t.Errorf("failed re-read: %+v", r)
	}
	e.wantPool(t, pid, b, eps(0, 1), late.ID, gone.ID)
}
