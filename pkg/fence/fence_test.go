package fence

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// A term is valid from its first renewal until the deadline counted from
// its last one, by its own clock, and never again once ended.
func TestValidity(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	v := NewValidity("leader Lease ns/l", 10*time.Second, clk)
	if err := v.Check(); err == nil {
		t.Fatal("valid before any renewal")
	}
	v.Renewed(clk.Now())
	clk.Step(9999 * time.Millisecond)
	if err := v.Check(); err != nil {
		t.Fatalf("not valid 9.999s after the renewal: %v", err)
	}
	clk.Step(time.Millisecond)
	err := v.Check()
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "leader Lease ns/l") {
		t.Fatalf("at the deadline: %v, want ErrExpired naming the guard", err)
	}
	// A renewal sent before the last one does not move the deadline back;
	// a later one moves it on.
	v.Renewed(clk.Now().Add(-20 * time.Second))
	if v.Check() == nil {
		t.Fatal("an older renewal made the term valid again")
	}
	v.Renewed(clk.Now())
	if err := v.Check(); err != nil {
		t.Fatalf("after a renewal: %v", err)
	}
	v.End(errors.New("lost"))
	v.Renewed(clk.Now().Add(time.Second))
	if err := v.Check(); err == nil || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("after End and a renewal: %v, want the reason it ended", err)
	}
}

// Bound cancels its context at the deadline unless the term was renewed
// meanwhile, and at once when it ends.
func TestValidityBound(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	v := NewValidity("term", 10*time.Second, clk)
	v.Renewed(clk.Now())
	ctx, cancel := v.Bound(context.Background())
	defer cancel()
	if _, err := check(ctx, clk.Now()); err != nil {
		t.Fatalf("the bound context does not carry a valid guard: %v", err)
	}
	waitTimer(t, clk)
	clk.Step(6 * time.Second)
	v.Renewed(clk.Now()) // deadline now 16 s
	waitTimer(t, clk)
	clk.Step(5 * time.Second) // 11 s: past the first deadline only
	select {
	case <-ctx.Done():
		t.Fatal("cancelled at the first deadline although renewed")
	case <-time.After(50 * time.Millisecond):
	}
	waitTimer(t, clk)
	clk.Step(5 * time.Second) // 16 s
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), ErrExpired) {
			t.Errorf("cause %v, want ErrExpired", context.Cause(ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled at the deadline")
	}

	v2 := NewValidity("term", 10*time.Second, clk)
	v2.Renewed(clk.Now())
	ctx2, cancel2 := v2.Bound(context.Background())
	defer cancel2()
	v2.End(errors.New("stepped down"))
	select {
	case <-ctx2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled when the term ended")
	}
}

func waitTimer(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog set no timer")
		}
		time.Sleep(time.Millisecond)
	}
}

// fixed is a guard valid until a given instant.
type fixed struct {
	name  string
	until time.Time
	err   error
}

func (f fixed) Name() string              { return f.name }
func (f fixed) Valid() (time.Time, error) { return f.until, f.err }

// Check asks every guard of the context: the earliest deadline, or the
// first that does not allow writing; Inherit carries guards to another
// context; Holds finds a guard by name.
func TestCheckCombinesGuards(t *testing.T) {
	now := time.Now()
	if until, err := Check(context.Background()); err != nil || !until.IsZero() {
		t.Fatalf("no guard: %v %v, want no deadline and no error", until, err)
	}
	term := fixed{name: LeaderTerm("ns/l"), until: now.Add(time.Hour)}
	lock := fixed{name: "pool lock ns/p", until: now.Add(time.Minute)}
	ctx := With(With(context.Background(), term), lock)
	if until, err := Check(ctx); err != nil || !until.Equal(lock.until) {
		t.Fatalf("two guards: %v %v, want the earlier deadline", until, err)
	}
	if !Holds(ctx, LeaderTerm("ns/l")) || Holds(ctx, LeaderTerm("ns/other")) {
		t.Error("Holds does not find the term by its Lease")
	}
	other, cancel := context.WithCancel(context.Background())
	defer cancel()
	if until, err := Check(Inherit(other, ctx)); err != nil || !until.Equal(lock.until) {
		t.Errorf("inherited: %v %v", until, err)
	}
	expired := With(ctx, fixed{name: "pool lock ns/q", until: now.Add(-time.Second)})
	if _, err := Check(expired); !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "pool lock ns/q") {
		t.Errorf("expired guard: %v", err)
	}
	ended := With(ctx, fixed{name: "pool lock ns/r", until: now.Add(time.Hour), err: errors.New("released")})
	if _, err := Check(ended); err == nil || !strings.Contains(err.Error(), "released") {
		t.Errorf("ended guard: %v", err)
	}
	if Holds(With(context.Background(), fixed{name: LeaderTerm("ns/l"), until: now.Add(-time.Second)}), LeaderTerm("ns/l")) {
		t.Error("Holds accepts an expired term")
	}
}

// The transport refuses a write whose guards do not allow it without
// sending anything, lets reads through, and bounds a write it sends by the
// guards' deadline.
func TestTransport(t *testing.T) {
	var got []string
	var deadline time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		deadline, _ = r.Context().Deadline()
		return http.DefaultTransport.RoundTrip(r)
	})
	client := &http.Client{Transport: Transport(spy)}
	do := func(ctx context.Context, method string) error {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+"/v3/p/elb/pools/x/members/batch-add", strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return err
	}
	until := time.Now().Add(time.Hour)
	valid := With(context.Background(), fixed{name: "term", until: until})
	if err := do(valid, http.MethodPost); err != nil {
		t.Fatal(err)
	}
	if !deadline.Equal(until) {
		t.Errorf("write sent with deadline %v, want the guard's %v", deadline, until)
	}
	expired := With(context.Background(), fixed{name: "term", until: time.Now().Add(-time.Millisecond)})
	err := do(expired, http.MethodPost)
	if !errors.Is(err, ErrExpired) {
		t.Errorf("write under an expired guard: %v, want ErrExpired", err)
	}
	if err := do(expired, http.MethodGet); err != nil {
		t.Errorf("read under an expired guard: %v", err)
	}
	if strings.Join(got, ",") != "POST,GET" {
		t.Errorf("server saw %v, want POST,GET (the fenced write never sent)", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
