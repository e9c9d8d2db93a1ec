// Package elbmetrics counts the ELB API calls of an elb.Client in
// Prometheus metrics: logical calls by operation and final HTTP status
// (Client), HTTP requests by operation and status (Transport), and
// retries, which are visible only when both wrappers are used on the same
// client (the Client wrapper marks the call's context; the Transport sees
// each attempt and recognises a request repeated within one call).
package elbmetrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Operation labels: the elb.Client methods.
const (
	OpGetPool            = "GetPool"
	OpListMembers        = "ListMembers"
	OpListMembersByID    = "ListMembersByID"
	OpBatchAddMembers    = "BatchAddMembers"
	OpBatchDeleteMembers = "BatchDeleteMembers"
	OpBatchUpdateMembers = "BatchUpdateMembers"
	OpGetQuota           = "GetQuota"
	OpOther              = "other"
)

// Code labels for calls without an HTTP answer.
const (
	// CodeError: no HTTP answer (connection failure, timeout, a request
	// that could not be built).
	CodeError = "error"
	// CodeCanceled: the caller's context ended first.
	CodeCanceled = "canceled"
	// CodeOK: a successful call whose status the Transport did not see.
	CodeOK = "ok"
)

// Metrics holds the counters; a nil *Metrics wraps nothing.
type Metrics struct {
	calls    *prometheus.CounterVec
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
}

// New builds the counters, named <namespace>_elb_…; register them with
// MustRegister.
func New(namespace string) *Metrics {
	return &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "elb", Name: "calls_total",
			Help: "ELB client calls (one per elb.Client method call, pages and retries included) by operation and final HTTP status code.",
		}, []string{"operation", "code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "elb", Name: "requests_total",
			Help: "HTTP requests sent to the ELB API (every page and every retry) by operation and HTTP status code.",
		}, []string{"operation", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "elb", Name: "retries_total",
			Help: "HTTP requests that repeated an earlier request of the same call (throttling, 5xx, connection failures), by operation.",
		}, []string{"operation"}),
	}
}

// MustRegister registers the counters with reg.
func (m *Metrics) MustRegister(reg prometheus.Registerer) {
	reg.MustRegister(m.calls, m.requests, m.retries)
}

// callRecord is what the Transport learns about one logical call.
type callRecord struct {
	mu       sync.Mutex
	lastCode string
	sent     map[string]bool // method + URL of the requests sent so far
}

type recordKey struct{}

// Transport counts every request rt sends, by the operation its method and
// path name and its HTTP status (CodeError without an answer).
func (m *Metrics) Transport(rt http.RoundTripper) http.RoundTripper {
	if m == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &transport{m: m, next: rt}
}

type transport struct {
	m    *Metrics
	next http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := Operation(r.Method, r.URL.Path, r.URL.Query().Has("id"))
	resp, err := t.next.RoundTrip(r)
	code := CodeError
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	} else if r.Context().Err() != nil {
		code = CodeCanceled
	}
	t.m.requests.WithLabelValues(op, code).Inc()
	if rec, ok := r.Context().Value(recordKey{}).(*callRecord); ok {
		id := r.Method + " " + r.URL.String()
		rec.mu.Lock()
		if rec.sent[id] {
			t.m.retries.WithLabelValues(op).Inc()
		}
		rec.sent[id] = true
		rec.lastCode = code
		rec.mu.Unlock()
	}
	return resp, err
}

// Operation names the elb.Client method a request belongs to, from its
// method and path (/v3/{project}/elb/pools/{id}[/members[/batch-…]],
// /v3/{project}/elb/quotas); hasID: the query filters by member id.
func Operation(method, path string, hasID bool) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	// v3, project, elb, ...
	if len(segs) < 4 || segs[0] != "v3" || segs[2] != "elb" {
		return OpOther
	}
	rest := segs[3:]
	switch {
	case method == http.MethodGet && len(rest) == 1 && rest[0] == "quotas":
		return OpGetQuota
	case method == http.MethodGet && len(rest) == 2 && rest[0] == "pools":
		return OpGetPool
	case method == http.MethodGet && len(rest) == 3 && rest[0] == "pools" && rest[2] == "members":
		if hasID {
			return OpListMembersByID
		}
		return OpListMembers
	case method == http.MethodPost && len(rest) == 4 && rest[0] == "pools" && rest[2] == "members":
		switch rest[3] {
		case "batch-add":
			return OpBatchAddMembers
		case "batch-delete":
			return OpBatchDeleteMembers
		case "batch-update":
			return OpBatchUpdateMembers
		}
	}
	return OpOther
}

// Client counts each call of c by operation and final status: the last
// HTTP status the Transport saw for it when c's transport is wrapped by
// Transport, else the status of the *elb.APIError it returned, CodeOK,
// CodeCanceled or CodeError.
func (m *Metrics) Client(c elb.Client) elb.Client {
	if m == nil {
		return c
	}
	return &client{m: m, next: c}
}

type client struct {
	m    *Metrics
	next elb.Client
}

func (c *client) start(ctx context.Context) (context.Context, *callRecord) {
	rec := &callRecord{sent: map[string]bool{}}
	return context.WithValue(ctx, recordKey{}, rec), rec
}

func (c *client) done(ctx context.Context, op string, rec *callRecord, err error) {
	rec.mu.Lock()
	code := rec.lastCode
	rec.mu.Unlock()
	if e, ok := elb.AsAPIError(err); ok && e.StatusCode != 0 {
		code = strconv.Itoa(e.StatusCode)
	}
	if code == "" || (err != nil && code[0] == '2') {
		switch {
		case err == nil:
			code = CodeOK
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			code = CodeCanceled
		default:
			code = CodeError // e.g. an answer that could not be decoded
		}
	}
	c.m.calls.WithLabelValues(op, code).Inc()
}

func (c *client) GetPool(ctx context.Context, poolID string) (*elb.Pool, error) {
	ctx, rec := c.start(ctx)
	p, err := c.next.GetPool(ctx, poolID)
	c.done(ctx, OpGetPool, rec, err)
	return p, err
}

func (c *client) ListMembers(ctx context.Context, poolID string) ([]elb.Member, error) {
	ctx, rec := c.start(ctx)
	ms, err := c.next.ListMembers(ctx, poolID)
	c.done(ctx, OpListMembers, rec, err)
	return ms, err
}

func (c *client) BatchAddMembers(ctx context.Context, poolID string, members []elb.NewMember) ([]elb.BatchResult, error) {
	ctx, rec := c.start(ctx)
	rs, err := c.next.BatchAddMembers(ctx, poolID, members)
	c.done(ctx, OpBatchAddMembers, rec, err)
	return rs, err
}

func (c *client) BatchDeleteMembers(ctx context.Context, poolID string, memberIDs []string) ([]elb.BatchResult, error) {
	ctx, rec := c.start(ctx)
	rs, err := c.next.BatchDeleteMembers(ctx, poolID, memberIDs)
	c.done(ctx, OpBatchDeleteMembers, rec, err)
	return rs, err
}

func (c *client) BatchUpdateMembers(ctx context.Context, poolID string, updates []elb.MemberUpdate) ([]elb.Member, error) {
	ctx, rec := c.start(ctx)
	ms, err := c.next.BatchUpdateMembers(ctx, poolID, updates)
	c.done(ctx, OpBatchUpdateMembers, rec, err)
	return ms, err
}

func (c *client) ListMembersByID(ctx context.Context, poolID string, ids []string) ([]elb.Member, error) {
	ctx, rec := c.start(ctx)
	ms, err := c.next.ListMembersByID(ctx, poolID, ids)
	c.done(ctx, OpListMembersByID, rec, err)
	return ms, err
}

func (c *client) GetQuota(ctx context.Context) (*elb.Quota, error) {
	ctx, rec := c.start(ctx)
	q, err := c.next.GetQuota(ctx)
	c.done(ctx, OpGetQuota, rec, err)
	return q, err
}

var _ elb.Client = (*client)(nil)
