package elb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

const (
	project = "0123456789abcdef0123456789abcdef"
	token   = "test-token-do-not-leak"
)

// tokenTransport adds X-Auth-Token, as the real auth transport would.
type tokenTransport struct{ tok string }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", t.tok)
	return http.DefaultTransport.RoundTrip(r)
}

// fastRetry keeps retry tests quick while still exercising backoff.
var fastRetry = elb.RetryPolicy{MaxAttempts: 6, Initial: time.Millisecond, Max: 5 * time.Millisecond}

type env struct {
	emu    *elbemulator.Emulator
	srv    *httptest.Server
	client elb.Client
}

// newEnv starts the emulator behind an HTTP server; wrap, if set, sits in
// front of it to inject transport-level behaviour.
func newEnv(t *testing.T, o elbemulator.Options, policy elb.RetryPolicy, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	o.ProjectID = project
	o.Token = token
	emu := elbemulator.New(o)
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(emu)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := elb.New(elb.Config{Endpoint: srv.URL + "/", ProjectID: project, Transport: tokenTransport{token}, Retry: policy})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu, srv, c}
}

func seed(t *testing.T, e *elbemulator.Emulator, poolID string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := e.AddMemberDirect(poolID, elb.Member{Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), ProtocolPort: 80}); err != nil {
			t.Fatal(err)
		}
	}
}

func newMembers(n int, port int32) []elb.NewMember {
	out := make([]elb.NewMember, n)
	for i := range out {
		out[i] = elb.NewMember{Address: fmt.Sprintf("172.16.%d.%d", i>>8, i&255), ProtocolPort: port}
	}
	return out
}

func TestListMembersPagingCallCounts(t *testing.T) {
	// ⌈max(M,1)/2000⌉ list calls for M members.
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	for _, tc := range []struct{ members, calls int }{{0, 1}, {1, 1}, {2000, 1}, {2001, 2}, {4500, 3}} {
		p := ev.emu.CreatePool(elb.Pool{})
		seed(t, ev.emu, p.ID, tc.members)
		ev.emu.ResetCounts()
		got, err := ev.client.ListMembers(context.Background(), p.ID)
		if err != nil {
			t.Fatalf("%d members: %v", tc.members, err)
		}
		if c := ev.emu.Counts()["ListMembers"]; c != tc.calls {
			t.Errorf("%d members: %d list calls, want %d", tc.members, c, tc.calls)
		}
		want := ev.emu.Members(p.ID)
		if len(got) != len(want) || got == nil {
			t.Fatalf("%d members: listed %d (nil=%v)", tc.members, len(got), got == nil)
		}
		gotIDs, wantIDs := ids(got), ids(want)
		if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) {
			t.Fatalf("%d members: listed IDs differ from the pool's", tc.members)
		}
	}
}

func ids(ms []elb.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	sort.Strings(out)
	return out
}

func TestRoundTrip(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	ctx := context.Background()
	p := ev.emu.CreatePool(elb.Pool{Name: "web", LBAlgorithm: "LEAST_CONNECTIONS"})
	foreign, _ := ev.emu.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.5", ProtocolPort: 80, Name: "foreign"})

	got, err := ev.client.GetPool(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.Name != "web" || got.LBAlgorithm != "LEAST_CONNECTIONS" || len(got.Members) != 1 || got.Members[0].ID != foreign.ID {
		t.Fatalf("GetPool %+v", got)
	}

	res, err := ev.client.BatchAddMembers(ctx, p.ID, []elb.NewMember{
		{Address: "10.0.0.5", ProtocolPort: 80}, // exists already
		{Address: "10.0.0.6", ProtocolPort: 80, Name: "pod-a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].RetStatus != elb.RetExisted || res[0].ID != foreign.ID || res[1].RetStatus != elb.RetSuccessful || res[1].Address != "10.0.0.6" {
		t.Fatalf("batch-add results %+v", res)
	}
	ms, err := ev.client.ListMembers(ctx, p.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("list: %v %v", ms, err)
	}
	del, err := ev.client.BatchDeleteMembers(ctx, p.ID, []string{res[1].ID, "no-such-member"})
	if err != nil {
		t.Fatal(err)
	}
	if del[0].RetStatus != elb.RetSuccessful || del[1].RetStatus != elb.RetNotFound {
		t.Fatalf("batch-delete results %+v", del)
	}
	if left := ev.emu.Members(p.ID); len(left) != 1 || left[0].ID != foreign.ID {
		t.Fatalf("left %+v", left)
	}
	c := ev.emu.Counts()
	if c["GetPool"] != 1 || c["BatchAddMembers"] != 1 || c["BatchDeleteMembers"] != 1 || c["ListMembers"] != 1 {
		t.Fatalf("counts %v", c)
	}
}

func TestBatchUpdateRoundTrip(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	ctx := context.Background()
	p := ev.emu.CreatePool(elb.Pool{Protocol: "HTTP"})
	for i := 0; i < 3; i++ {
		if _, err := ev.emu.AddMemberDirect(p.ID, elb.Member{Address: fmt.Sprintf("10.0.0.%d", i), ProtocolPort: 80, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ms := ev.emu.Members(p.ID)
	zero, five, name := int32(0), int32(5), "renamed"
	got, err := ev.client.BatchUpdateMembers(ctx, p.ID, []elb.MemberUpdate{
		{ID: ms[2].ID, Weight: &zero},
		{ID: ms[0].ID, Name: &name, Weight: &five},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ms[2].ID || got[0].Weight != 0 || got[1].ID != ms[0].ID || got[1].Name != "renamed" || got[1].Weight != 5 {
		t.Fatalf("answer %+v", got)
	}
	after := ev.emu.Members(p.ID)
	if after[0].Name != "renamed" || after[0].Weight != 5 || after[1].Weight != 1 || after[1].Name != ms[1].Name || after[2].Weight != 0 {
		t.Fatalf("pool after update %+v", after)
	}
	// A member that is gone: the whole call is refused (400, not retried) and nothing changes.
	one := int32(1)
	_, err = ev.client.BatchUpdateMembers(ctx, p.ID, []elb.MemberUpdate{{ID: ms[2].ID, Weight: &one}, {ID: "gone", Weight: &one}})
	if e, ok := elb.AsAPIError(err); !ok || e.StatusCode != 400 || e.Code != elbemulator.CodeInvalid {
		t.Fatalf("unknown member: %v", err)
	}
	if ev.emu.Members(p.ID)[2].Weight != 0 {
		t.Fatal("a refused batch-update changed a member")
	}
	if c := ev.emu.Counts(); c["BatchUpdateMembers"] != 2 || c["BatchAddMembers"] != 0 || c["BatchDeleteMembers"] != 0 {
		t.Fatalf("counts %v", c)
	}
	// Throttled calls are retried like the other batch calls.
	ev.emu.SetFaults(elbemulator.Faults{ThrottleFirst: 2})
	ev.emu.ResetCounts()
	if _, err := ev.client.BatchUpdateMembers(ctx, p.ID, []elb.MemberUpdate{{ID: ms[2].ID, Weight: &one}}); err != nil {
		t.Fatal(err)
	}
	if c := ev.emu.Counts(); c["Throttled"] != 2 || c["BatchUpdateMembers"] != 1 || ev.emu.Members(p.ID)[2].Weight != 1 {
		t.Fatalf("after throttling: counts %v, weight %d", c, ev.emu.Members(p.ID)[2].Weight)
	}
}

func TestBatchLimits(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{MemberQuota: 1000}, fastRetry, nil)
	ctx := context.Background()
	p := ev.emu.CreatePool(elb.Pool{})
	if _, err := ev.client.BatchAddMembers(ctx, p.ID, newMembers(201, 80)); err == nil {
		t.Fatal("201 members accepted by BatchAddMembers")
	}
	tooMany := make([]string, 201)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint("id", i)
	}
	if _, err := ev.client.BatchDeleteMembers(ctx, p.ID, tooMany); err == nil {
		t.Fatal("201 IDs accepted by BatchDeleteMembers")
	}
	if r, err := ev.client.BatchAddMembers(ctx, p.ID, nil); err != nil || len(r) != 0 {
		t.Fatalf("empty batch: %v %v", r, err)
	}
	if _, err := ev.client.BatchDeleteMembers(ctx, p.ID, []string{""}); err == nil {
		t.Fatal("empty member ID accepted")
	}
	one, neg, big := int32(1), int32(-1), int32(101)
	tooManyUpdates := make([]elb.MemberUpdate, 201)
	for i := range tooManyUpdates {
		tooManyUpdates[i] = elb.MemberUpdate{ID: fmt.Sprint("id", i), Weight: &one}
	}
	for name, us := range map[string][]elb.MemberUpdate{
		"201 updates":    tooManyUpdates,
		"empty id":       {{ID: "", Weight: &one}},
		"nothing to set": {{ID: "a"}},
		"weight -1":      {{ID: "a", Weight: &neg}},
		"weight 101":     {{ID: "a", Weight: &big}},
		"id twice":       {{ID: "a", Weight: &one}, {ID: "a", Weight: &one}},
	} {
		if _, err := ev.client.BatchUpdateMembers(ctx, p.ID, us); err == nil {
			t.Errorf("BatchUpdateMembers accepted %s", name)
		}
	}
	if r, err := ev.client.BatchUpdateMembers(ctx, p.ID, nil); err != nil || r == nil || len(r) != 0 {
		t.Fatalf("empty update batch: %v %v", r, err)
	}
	// Nothing above may reach the API.
	for op, n := range ev.emu.Counts() {
		if n != 0 {
			t.Fatalf("%s called %d times for rejected/empty batches", op, n)
		}
	}
	// Exactly MaxBatch is fine.
	r, err := ev.client.BatchAddMembers(ctx, p.ID, newMembers(elb.MaxBatch, 80))
	if err != nil || len(r) != elb.MaxBatch {
		t.Fatalf("200 members: %d results, %v", len(r), err)
	}
}

func TestRetryOnThrottleThenSuccess(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	seed(t, ev.emu, p.ID, 3)
	ev.emu.SetFaults(elbemulator.Faults{ThrottleFirst: 3})
	ms, err := ev.client.ListMembers(context.Background(), p.ID)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d members, %v", len(ms), err)
	}
	if c := ev.emu.Counts(); c["Throttled"] != 3 || c["ListMembers"] != 1 {
		t.Fatalf("counts %v: want 3 throttled then 1 served", c)
	}
}

func TestRetryOn5xxThenSuccess(t *testing.T) {
	// The first two calls answer 503 and 500; the batch-add is then applied once.
	var n atomic.Int32
	ev := newEnv(t, elbemulator.Options{}, fastRetry, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 1:
				http.Error(w, `{"error_code":"ELB.0001","error_msg":"busy"}`, http.StatusServiceUnavailable)
			case 2:
				http.Error(w, "oops", http.StatusInternalServerError)
			default:
				h.ServeHTTP(w, r)
			}
		})
	})
	p := ev.emu.CreatePool(elb.Pool{})
	res, err := ev.client.BatchAddMembers(context.Background(), p.ID, newMembers(2, 80))
	if err != nil || len(res) != 2 || res[0].RetStatus != elb.RetSuccessful {
		t.Fatalf("%+v %v", res, err)
	}
	if n.Load() != 3 || len(ev.emu.Members(p.ID)) != 2 {
		t.Fatalf("%d calls, %d members", n.Load(), len(ev.emu.Members(p.ID)))
	}
}

func TestRetryOnConnectionReset(t *testing.T) {
	// The first request's connection is reset; the POST body must be sent
	// again in full on the retry.
	var n atomic.Int32
	ev := newEnv(t, elbemulator.Options{}, fastRetry, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST instead of FIN
				}
				conn.Close()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	p := ev.emu.CreatePool(elb.Pool{})
	res, err := ev.client.BatchAddMembers(context.Background(), p.ID, newMembers(3, 80))
	if err != nil || len(res) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if n.Load() != 2 || len(ev.emu.Members(p.ID)) != 3 {
		t.Fatalf("%d requests, %d members; want 2 and 3", n.Load(), len(ev.emu.Members(p.ID)))
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	_, err := ev.client.BatchAddMembers(context.Background(), p.ID, []elb.NewMember{{Address: "not-an-ip", ProtocolPort: 80}})
	apiErr, ok := elb.AsAPIError(err)
	if !ok || apiErr.StatusCode != 400 || apiErr.Code != "ELB.1001" || apiErr.RequestID == "" {
		t.Fatalf("error %v (%#v)", err, apiErr)
	}
	if c := ev.emu.Counts()["BatchAddMembers"]; c != 1 {
		t.Fatalf("400 was retried: %d calls", c)
	}

	_, err = ev.client.GetPool(context.Background(), "no-such-pool")
	if !elb.IsNotFound(err) {
		t.Fatalf("unknown pool: %v", err)
	}
	if c := ev.emu.Counts()["GetPool"]; c != 1 {
		t.Fatalf("404 was retried: %d calls", c)
	}
}

func TestUnauthorizedNotRetriedAndNoSecretInError(t *testing.T) {
	emu := elbemulator.New(elbemulator.Options{ProjectID: project, Token: token})
	p := emu.CreatePool(elb.Pool{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	c, _ := elb.New(elb.Config{Endpoint: srv.URL, ProjectID: project, Transport: tokenTransport{"wrong-" + token}, Retry: fastRetry})
	_, err := c.ListMembers(context.Background(), p.ID)
	if e, ok := elb.AsAPIError(err); !ok || e.StatusCode != 401 {
		t.Fatalf("want 401 APIError, got %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("error message contains the token: %v", err)
	}
	if n := emu.Counts()["Unauthorized"]; n != 1 {
		t.Fatalf("401 was retried: %d calls", n)
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	policy := fastRetry
	policy.MaxAttempts = 4
	ev := newEnv(t, elbemulator.Options{}, policy, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{FailEvery: 1})
	_, err := ev.client.GetPool(context.Background(), p.ID)
	e, ok := elb.AsAPIError(err)
	if !ok || e.StatusCode < 500 || e.Code != elbemulator.CodeFault {
		t.Fatalf("error %v", err)
	}
	if n := ev.emu.Counts()["Faulted"]; n != 4 {
		t.Fatalf("%d attempts, want MaxAttempts=4", n)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	policy := elb.RetryPolicy{MaxAttempts: 1000, Initial: 20 * time.Millisecond, Max: 20 * time.Millisecond}
	ev := newEnv(t, elbemulator.Options{}, policy, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{FailEvery: 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := ev.client.ListMembers(ctx, p.ID)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, ok := elb.AsAPIError(err); !ok {
		t.Fatalf("the last API error should be kept in %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v after cancel", d)
	}
	if n := ev.emu.Counts()["Faulted"]; n == 0 || n > 20 {
		t.Fatalf("%d attempts; cancel should stop retries early", n)
	}
}

func TestDeadlineShorterThanBackoffReturnsEarly(t *testing.T) {
	// A 10s backoff cannot fit in a 200ms deadline: report the 429 at once
	// instead of sleeping into the deadline.
	policy := elb.RetryPolicy{MaxAttempts: 5, Initial: 10 * time.Second, Max: 10 * time.Second}
	ev := newEnv(t, elbemulator.Options{}, policy, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{ThrottleFirst: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ev.client.GetPool(ctx, p.ID)
	if !elb.IsThrottled(err) {
		t.Fatalf("want throttling error, got %v", err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Fatalf("waited %v", d)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var n atomic.Int32
	ev := newEnv(t, elbemulator.Options{}, fastRetry, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"error_code":"APIG.0308","error_msg":"throttled"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	p := ev.emu.CreatePool(elb.Pool{})
	start := time.Now()
	if _, err := ev.client.GetPool(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, Retry-After asked for 1s", d)
	}
}

// A Retry-After beyond MaxRetryAfter ends the call at once, with the wait
// the server asked for, instead of sleeping it out (or retrying into it).
func TestRetryAfterBeyondTheBoundReturnsAtOnce(t *testing.T) {
	policy := elb.RetryPolicy{MaxAttempts: 6, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	ev := newEnv(t, elbemulator.Options{}, policy, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ok := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{ThrottlePools: []string{p.ID}, RetryAfterSeconds: 600})
	start := time.Now()
	_, err := ev.client.GetPool(context.Background(), p.ID)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the call took %v; a Retry-After of 600s beyond the 2s bound must not be waited for", d)
	}
	if !elb.IsThrottled(err) || elb.RetryAfter(err) != 600*time.Second {
		t.Fatalf("want a throttling error asking for 600s, got %v (retry after %v)", err, elb.RetryAfter(err))
	}
	if n := ev.emu.Counts()["Throttled"]; n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	// The other pool of the same project is served.
	if _, err := ev.client.GetPool(context.Background(), ok.ID); err != nil {
		t.Fatal(err)
	}
	// Within the bound, the wait is the server's.
	ev.emu.SetFaults(elbemulator.Faults{ThrottlePools: []string{p.ID}, RetryAfterSeconds: 1})
	go func() { time.Sleep(1500 * time.Millisecond); ev.emu.SetFaults(elbemulator.Faults{}) }()
	start = time.Now()
	if _, err := ev.client.GetPool(context.Background(), p.ID); err != nil {
		t.Fatalf("a 1s Retry-After within the bound: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, Retry-After asked for 1s", d)
	}
}

func TestQuotaAndDeletionProtectionErrors(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{MemberQuota: 2}, fastRetry, nil)
	ctx := context.Background()
	p := ev.emu.CreatePool(elb.Pool{MemberDeletionProtectionEnable: true})
	_, err := ev.client.BatchAddMembers(ctx, p.ID, newMembers(3, 80))
	if !elb.IsQuotaExceeded(err) {
		t.Fatalf("want quota error, got %v", err)
	}
	seed(t, ev.emu, p.ID, 1)
	_, err = ev.client.BatchDeleteMembers(ctx, p.ID, []string{ev.emu.Members(p.ID)[0].ID})
	if e, ok := elb.AsAPIError(err); !ok || e.StatusCode != 409 {
		t.Fatalf("want 409 for a deletion-protected pool, got %v", err)
	}
	if c := ev.emu.Counts()["BatchDeleteMembers"]; c != 1 {
		t.Fatalf("409 retried: %d", c)
	}
}

func TestNewValidation(t *testing.T) {
	for name, cfg := range map[string]elb.Config{
		"no endpoint":  {ProjectID: project},
		"no scheme":    {Endpoint: "elb.example.com", ProjectID: project},
		"ftp":          {Endpoint: "ftp://elb.example.com", ProjectID: project},
		"query":        {Endpoint: "https://elb.example.com?x=1", ProjectID: project},
		"no project":   {Endpoint: "https://elb.example.com"},
		"project path": {Endpoint: "https://elb.example.com", ProjectID: "a/../b"},
	} {
		if _, err := elb.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := elb.New(elb.Config{Endpoint: elb.EndpointForRegion("cn-north-4"), ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	// A pool ID that could alter the path is refused before any request.
	if _, err := c.GetPool(context.Background(), "../x"); err == nil || strings.Contains(err.Error(), "dial") {
		t.Fatalf("bad pool ID: %v", err)
	}
	if got := elb.EndpointForRegion("cn-north-4"); got != "https://elb.cn-north-4.myhuaweicloud.com" {
		t.Fatal(got)
	}
}
