package elb_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// clientFor builds a client on ev's server with a per-attempt timeout.
func clientFor(t *testing.T, ev *env, policy elb.RetryPolicy, timeout time.Duration, rt http.RoundTripper) elb.Client {
	t.Helper()
	c, err := elb.New(elb.Config{Endpoint: ev.srv.URL, ProjectID: project, Transport: rt, Retry: policy, RequestTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A stalled attempt is abandoned after the per-request timeout and retried,
// well within the caller's deadline.
func TestStalledRequestRetriedAfterRequestTimeout(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{StallFirst: 2, StallFor: time.Minute})
	c := clientFor(t, ev, fastRetry, 200*time.Millisecond, tokenTransport{token})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	got, err := c.GetPool(ctx, p.ID)
	if err != nil || got.ID != p.ID {
		t.Fatalf("GetPool after two stalls: %v %v", got, err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %v; want two 200ms timeouts and a retry", d)
	}
	if c := ev.emu.Counts(); c[elbemulator.OpStalled] != 2 || c[elbemulator.OpGetPool] != 1 {
		t.Errorf("counts %v: want 2 stalled attempts and 1 served GetPool", c)
	}
}

// Every attempt stalled: the call fails saying so, after MaxAttempts.
func TestStalledEveryAttemptGivesUp(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{StallFirst: 100, StallFor: time.Minute})
	policy := fastRetry
	policy.MaxAttempts = 3
	c := clientFor(t, ev, policy, 100*time.Millisecond, tokenTransport{token})
	_, err := c.ListMembers(context.Background(), p.ID)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "per-request timeout") {
		t.Fatalf("error %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an attempt timeout must not look like the caller's deadline: %v", err)
	}
	if n := ev.emu.Counts()[elbemulator.OpStalled]; n != 3 {
		t.Errorf("%d stalled attempts, want 3", n)
	}
}

// The caller's cancellation still wins over the per-attempt timeout.
func TestStallCanceledByCaller(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{}, fastRetry, nil)
	p := ev.emu.CreatePool(elb.Pool{})
	ev.emu.SetFaults(elbemulator.Faults{StallFirst: 100, StallFor: time.Minute})
	c := clientFor(t, ev, fastRetry, 10*time.Second, tokenTransport{token})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.GetPool(ctx, p.ID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
}

// sigTransport signs like AK/SK mode would (the shape, not a real HMAC):
// the emulator has no credentials configured and accepts everything.
type sigTransport struct{ authz, tok string }

func (s sigTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", s.authz)
	r.Header.Set("X-Auth-Token", s.tok)
	return http.DefaultTransport.RoundTrip(r)
}

// An error answer that echoes the request's credentials is masked where the
// error is made, even for values package redact was never told about (a
// per-request signature).
func TestEchoedCredentialsMaskedInAPIError(t *testing.T) {
	emu := elbemulator.New(elbemulator.Options{ProjectID: project})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	p := emu.CreatePool(elb.Pool{})
	const (
		ak  = "UNREGISTEREDAK0000042"
		sig = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		tok = "unregistered-token-5c2e1f"
	)
	authz := "SDK-HMAC-SHA256 Access=" + ak + ", SignedHeaders=host;x-sdk-date, Signature=" + sig
	c, err := elb.New(elb.Config{Endpoint: srv.URL, ProjectID: project, Transport: sigTransport{authz, tok}})
	if err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(elbemulator.Faults{EchoCredentialsFirst: 1})
	_, err = c.GetPool(context.Background(), p.ID)
	apiErr, ok := elb.AsAPIError(err)
	if !ok || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("want the echoing 400, got %v", err)
	}
	if emu.Counts()[elbemulator.OpEchoed] != 1 {
		t.Fatal("the emulator did not echo; the test proves nothing")
	}
	msg := err.Error()
	for _, secret := range []string{ak, sig, tok} {
		if strings.Contains(msg, secret) {
			t.Errorf("error carries %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, redact.Mask) {
		t.Errorf("nothing masked in %s", msg)
	}
}
