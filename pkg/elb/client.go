package elb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of one answer is read. A full page of
// 2000 members is well under 2 MiB; the bound only guards against a
// misbehaving server.
const maxResponseBytes = 64 << 20

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "ccictl-elb"

// Config configures the HTTP client returned by New.
type Config struct {
	// Endpoint is the ELB service root, e.g. https://elb.<region>.myhuaweicloud.com
	// (see EndpointForRegion). A trailing slash is ignored.
	Endpoint string
	// ProjectID is the project the pools belong to (32 lowercase letters and digits
	// on Huawei Cloud; any non-empty value of letters, digits, '-' and '_' is accepted).
	ProjectID string
	// Transport sends the requests and is expected to authenticate them
	// (X-Auth-Token or AK/SK signing). nil means http.DefaultTransport, i.e. no
	// authentication is added.
	Transport http.RoundTripper
	// Retry bounds retries of throttled (429), 5xx and connection-failed calls.
	// Zero fields take the defaults of DefaultRetryPolicy.
	Retry RetryPolicy
	// UserAgent is sent as User-Agent; empty means DefaultUserAgent.
	UserAgent string
	// RequestTimeout bounds one attempt of a call (connect, send, answer
	// read), so that a stalled request is abandoned and retried while the
	// caller's deadline still leaves room. 0 means DefaultRequestTimeout;
	// negative means no per-attempt bound (only the context's).
	RequestTimeout time.Duration
}

// DefaultRequestTimeout is the per-attempt timeout when
// Config.RequestTimeout is 0: a healthy call of the member API answers in
// well under a second, a full page of 2000 members included.
const DefaultRequestTimeout = 30 * time.Second

// EndpointForRegion returns the documented public ELB endpoint of a region,
// e.g. "cn-north-4" → "https://elb.cn-north-4.myhuaweicloud.com".
func EndpointForRegion(region string) string {
	return "https://elb." + strings.TrimSpace(region) + ".myhuaweicloud.com"
}

// New returns the HTTP implementation of Client.
func New(cfg Config) (Client, error) {
	ep := strings.TrimRight(strings.TrimSpace(cfg.Endpoint), "/")
	if ep == "" {
		return nil, errors.New("elb: endpoint is required")
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("elb: invalid endpoint %q: %w", ep, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("elb: invalid endpoint %q: want http(s)://host", ep)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("elb: invalid endpoint %q: no query, fragment or user info allowed", ep)
	}
	if err := validSegment("project ID", cfg.ProjectID); err != nil {
		return nil, err
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	timeout := cfg.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	return &httpClient{
		base:    ep + "/v3/" + cfg.ProjectID + "/elb/pools/",
		root:    ep + "/v3/" + cfg.ProjectID + "/elb/",
		http:    &http.Client{Transport: rt},
		retry:   cfg.Retry.withDefaults(),
		ua:      ua,
		timeout: timeout,
	}, nil
}

// validSegment checks an ID that goes into a URL path: non-empty and made
// only of characters that need no escaping, so it cannot change the path.
func validSegment(what, s string) error {
	if s == "" {
		return fmt.Errorf("elb: %s is required", what)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("elb: invalid %s %q: only letters, digits, '-' and '_' are allowed", what, s)
		}
	}
	return nil
}

type httpClient struct {
	base    string // …/v3/{project_id}/elb/pools/
	root    string // …/v3/{project_id}/elb/
	http    *http.Client
	retry   RetryPolicy
	ua      string
	timeout time.Duration // per attempt; <0 = none
}

var _ Client = (*httpClient)(nil)

type showPoolResponse struct {
	RequestID string `json:"request_id"`
	Pool      *Pool  `json:"pool"`
}

// PageInfo is the paging block of a list answer.
type PageInfo struct {
	PreviousMarker string `json:"previous_marker,omitempty"`
	NextMarker     string `json:"next_marker,omitempty"`
	CurrentCount   int    `json:"current_count"`
}

type listMembersResponse struct {
	RequestID string    `json:"request_id"`
	PageInfo  *PageInfo `json:"page_info"`
	Members   []Member  `json:"members"`
}

type batchResponse struct {
	RequestID string        `json:"request_id"`
	Members   []BatchResult `json:"members"`
}

type batchAddRequest struct {
	Members []NewMember `json:"members"`
}

type batchDeleteRequest struct {
	Members []Ref `json:"members"`
}

type batchUpdateRequest struct {
	Members []MemberUpdate `json:"members"`
}

// batchUpdateResponse is the documented batch-update answer: the updated
// members themselves, without a ret_status.
type batchUpdateResponse struct {
	RequestID string   `json:"request_id"`
	Members   []Member `json:"members"`
}

func (c *httpClient) GetPool(ctx context.Context, poolID string) (*Pool, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	var out showPoolResponse
	if err := c.do(ctx, "GetPool", http.MethodGet, poolID, nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Pool == nil {
		return nil, fmt.Errorf("elb: GetPool %s: answer has no \"pool\" object", poolID)
	}
	return out.Pool, nil
}

func (c *httpClient) ListMembers(ctx context.Context, poolID string) ([]Member, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	var all []Member
	marker := ""
	seen := map[string]bool{}
	for {
		q := url.Values{"limit": {strconv.Itoa(MaxPageSize)}}
		if marker != "" {
			q.Set("marker", marker)
		}
		var page listMembersResponse
		if err := c.do(ctx, "ListMembers", http.MethodGet, poolID+"/members", q, nil, &page); err != nil {
			return nil, err
		}
		if page.Members == nil && page.PageInfo == nil {
			return nil, fmt.Errorf("elb: ListMembers %s: answer has neither \"members\" nor \"page_info\"", poolID)
		}
		all = append(all, page.Members...)
		// The last page is the one without a next_marker, whatever its
		// size: a server (or gateway) may cap pages below limit and still
		// hand out a next_marker, and stopping at a short page would then
		// read only the first one. An empty page ends the list too (a
		// marker after nothing would not advance); a list cut short either
		// way is caught by the caller's comparison with the pool's own
		// member list.
		if len(page.Members) == 0 || page.PageInfo == nil || page.PageInfo.NextMarker == "" {
			break
		}
		next := page.PageInfo.NextMarker
		// A server that hands back a marker twice would make this loop forever.
		if seen[next] {
			return nil, fmt.Errorf("elb: ListMembers %s: paging did not advance (marker %q repeated)", poolID, next)
		}
		seen[next] = true
		marker = next
	}
	if all == nil {
		all = []Member{}
	}
	return all, nil
}

func (c *httpClient) BatchAddMembers(ctx context.Context, poolID string, members []NewMember) ([]BatchResult, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	if len(members) > MaxBatch {
		return nil, fmt.Errorf("elb: BatchAddMembers: %d members in one call, at most %d allowed", len(members), MaxBatch)
	}
	if len(members) == 0 {
		return []BatchResult{}, nil
	}
	var out batchResponse
	if err := c.do(ctx, "BatchAddMembers", http.MethodPost, poolID+"/members/batch-add", nil,
		batchAddRequest{Members: members}, &out); err != nil {
		return nil, err
	}
	return checkBatch("BatchAddMembers", out.Members, len(members))
}

func (c *httpClient) BatchDeleteMembers(ctx context.Context, poolID string, memberIDs []string) ([]BatchResult, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	if len(memberIDs) > MaxBatch {
		return nil, fmt.Errorf("elb: BatchDeleteMembers: %d members in one call, at most %d allowed", len(memberIDs), MaxBatch)
	}
	if len(memberIDs) == 0 {
		return []BatchResult{}, nil
	}
	refs := make([]Ref, len(memberIDs))
	for i, id := range memberIDs {
		if id == "" {
			return nil, fmt.Errorf("elb: BatchDeleteMembers: member ID #%d is empty", i)
		}
		refs[i] = Ref{ID: id}
	}
	var out batchResponse
	if err := c.do(ctx, "BatchDeleteMembers", http.MethodPost, poolID+"/members/batch-delete", nil,
		batchDeleteRequest{Members: refs}, &out); err != nil {
		return nil, err
	}
	return checkBatch("BatchDeleteMembers", out.Members, len(memberIDs))
}

func (c *httpClient) BatchUpdateMembers(ctx context.Context, poolID string, updates []MemberUpdate) ([]Member, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	if len(updates) > MaxBatch {
		return nil, fmt.Errorf("elb: BatchUpdateMembers: %d members in one call, at most %d allowed", len(updates), MaxBatch)
	}
	if len(updates) == 0 {
		return []Member{}, nil
	}
	seen := make(map[string]int, len(updates))
	for i, u := range updates {
		switch {
		case u.ID == "":
			return nil, fmt.Errorf("elb: BatchUpdateMembers: member ID #%d is empty", i)
		case u.Name == nil && u.Weight == nil:
			return nil, fmt.Errorf("elb: BatchUpdateMembers: update #%d (member %s) changes nothing", i, u.ID)
		case u.Weight != nil && (*u.Weight < 0 || *u.Weight > MaxWeight):
			return nil, fmt.Errorf("elb: BatchUpdateMembers: update #%d (member %s): weight %d outside 0-%d", i, u.ID, *u.Weight, MaxWeight)
		}
		if j, dup := seen[u.ID]; dup {
			return nil, fmt.Errorf("elb: BatchUpdateMembers: member %s appears twice (#%d and #%d)", u.ID, j, i)
		}
		seen[u.ID] = i
	}
	var out batchUpdateResponse
	if err := c.do(ctx, "BatchUpdateMembers", http.MethodPost, poolID+"/members/batch-update", nil,
		batchUpdateRequest{Members: updates}, &out); err != nil {
		return nil, err
	}
	return checkUpdates(out.Members, updates, seen)
}

// checkUpdates makes sure a 200 batch-update answer holds exactly the members
// asked for, each showing the values asked for, and returns them in request
// order. The answer's order is not documented, so members are matched by id.
func checkUpdates(res []Member, updates []MemberUpdate, index map[string]int) ([]Member, error) {
	const op = "BatchUpdateMembers"
	if len(res) != len(updates) {
		return nil, fmt.Errorf("elb: %s: answer has %d members for %d updates", op, len(res), len(updates))
	}
	out := make([]Member, len(updates))
	got := make([]bool, len(updates))
	for _, m := range res {
		i, ok := index[m.ID]
		if !ok {
			return nil, fmt.Errorf("elb: %s: answer has member %q, which was not asked for", op, m.ID)
		}
		if got[i] {
			return nil, fmt.Errorf("elb: %s: answer has member %s twice", op, m.ID)
		}
		got[i] = true
		u := updates[i]
		if u.Weight != nil && m.Weight != *u.Weight {
			return nil, fmt.Errorf("elb: %s: member %s has weight %d in the answer, %d was asked for", op, m.ID, m.Weight, *u.Weight)
		}
		if u.Name != nil && m.Name != *u.Name {
			return nil, fmt.Errorf("elb: %s: member %s has name %q in the answer, %q was asked for", op, m.ID, m.Name, *u.Name)
		}
		out[i] = m
	}
	return out, nil
}

func (c *httpClient) ListMembersByID(ctx context.Context, poolID string, ids []string) ([]Member, error) {
	if err := validSegment("pool ID", poolID); err != nil {
		return nil, err
	}
	out := []Member{}
	for len(ids) > 0 {
		n := min(len(ids), MaxIDFilter)
		q := url.Values{"limit": {strconv.Itoa(MaxPageSize)}}
		for i, id := range ids[:n] {
			if err := validSegment(fmt.Sprintf("member ID #%d", i), id); err != nil {
				return nil, err
			}
			q.Add("id", id)
		}
		var page listMembersResponse
		if err := c.do(ctx, "ListMembers", http.MethodGet, poolID+"/members", q, nil, &page); err != nil {
			return nil, err
		}
		if page.Members == nil && page.PageInfo == nil {
			return nil, fmt.Errorf("elb: ListMembers %s: answer has neither \"members\" nor \"page_info\"", poolID)
		}
		// At most MaxIDFilter (< MaxPageSize) members match, so one page
		// holds them all; more would mean the filter was ignored.
		if len(page.Members) > n {
			return nil, fmt.Errorf("elb: ListMembers %s: %d members answered for %d id filters", poolID, len(page.Members), n)
		}
		out = append(out, page.Members...)
		ids = ids[n:]
	}
	return out, nil
}

type quotaResponse struct {
	RequestID string `json:"request_id"`
	Quota     *struct {
		MembersPerPool *int `json:"members_per_pool"`
		Member         *int `json:"member"`
	} `json:"quota"`
}

func (c *httpClient) GetQuota(ctx context.Context) (*Quota, error) {
	var out quotaResponse
	if err := c.doURL(ctx, "GetQuota", http.MethodGet, c.root+"quotas", nil, &out); err != nil {
		return nil, err
	}
	// A missing key must not read as a quota of 0 (no room at all).
	if out.Quota == nil || out.Quota.MembersPerPool == nil {
		return nil, errors.New("elb: GetQuota: answer has no \"quota.members_per_pool\"")
	}
	q := &Quota{MembersPerPool: *out.Quota.MembersPerPool, Member: UnlimitedQuota}
	if out.Quota.Member != nil {
		q.Member = *out.Quota.Member
	}
	if q.MembersPerPool < UnlimitedQuota {
		return nil, fmt.Errorf("elb: GetQuota: members_per_pool %d is neither a limit nor -1", q.MembersPerPool)
	}
	return q, nil
}

// checkBatch makes sure a 200 batch answer carries one result per item with a
// known status; anything else would let a caller believe a change happened.
func checkBatch(op string, res []BatchResult, want int) ([]BatchResult, error) {
	if len(res) != want {
		return nil, fmt.Errorf("elb: %s: answer has %d results for %d members", op, len(res), want)
	}
	for i, r := range res {
		switch r.RetStatus {
		case RetSuccessful, RetExisted, RetNotFound:
		default:
			return res, fmt.Errorf("elb: %s: result #%d (id %q) has ret_status %q", op, i, r.ID, r.RetStatus)
		}
	}
	return res, nil
}

// do sends one logical call, retrying per c.retry, and decodes a 2xx JSON
// answer into out. rel is appended to …/elb/pools/.
func (c *httpClient) do(ctx context.Context, op, method, rel string, q url.Values, body, out any) error {
	u := c.base + rel
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return c.doURL(ctx, op, method, u, body, out)
}

// doURL is do for a full URL.
func (c *httpClient) doURL(ctx context.Context, op, method, u string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("elb: %s: encode request: %w", op, err)
		}
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return ctxError(op, err, lastErr)
		}
		status, hdr, data, err := c.once(ctx, method, u, payload)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctxError(op, ctx.Err(), lastErr)
			}
			lastErr = fmt.Errorf("elb: %s: %w", op, err)
			if !errors.Is(err, errAttemptTimeout) && !retryableTransportError(err) {
				return lastErr
			}
		case status >= 200 && status < 300:
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("elb: %s: decode HTTP %d answer: %w", op, status, err)
			}
			return nil
		default:
			apiErr := ParseAPIError(status, hdr, data)
			lastErr = fmt.Errorf("elb: %s: %w", op, apiErr)
			if !retryableStatus(status) {
				return lastErr
			}
			wait = retryAfter(hdr)
			if wait > c.retry.MaxRetryAfter {
				return &RetryAfterError{After: wait, Err: lastErr}
			}
		}
		if attempt >= c.retry.MaxAttempts {
			return fmt.Errorf("elb: %s: giving up after %d attempts: %w", op, attempt, errors.Unwrap(lastErr))
		}
		if b := c.retry.backoff(attempt); b > wait {
			wait = b
		}
		// Sleeping past the deadline cannot help: report the real failure now.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("elb: %s: retry in %v would pass the deadline: %w", op, wait, errors.Unwrap(lastErr))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctxError(op, ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

func ctxError(op string, ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("elb: %s: %w", op, ctxErr)
	}
	return fmt.Errorf("elb: %s: %w (last attempt: %w)", op, ctxErr, errors.Unwrap(last))
}

// errAttemptTimeout marks an attempt abandoned after Config.RequestTimeout;
// it is retried like a connection failure (the batch calls are idempotent).
var errAttemptTimeout = errors.New("no complete answer within the per-request timeout")

// once performs a single HTTP exchange, bounded by c.timeout, and reads the
// whole answer. The body of a non-2xx answer comes back with the
// credentials this request carried masked: a gateway that echoes the
// request's X-Auth-Token or signature must not put it into an error.
func (c *httpClient) once(ctx context.Context, method, u string, payload []byte) (int, http.Header, []byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errAttemptTimeout)
		defer cancel()
	}
	status, hdr, data, err := c.exchange(ctx, method, u, payload)
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), errAttemptTimeout) {
		err = fmt.Errorf("%w (%v)", errAttemptTimeout, c.timeout)
	}
	return status, hdr, data, err
}

func (c *httpClient) exchange(ctx context.Context, method, u string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		// A body cut short is a connection failure of this attempt.
		return 0, nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		sent := req
		if resp.Request != nil {
			// The request as the transport sent it, authentication added.
			sent = resp.Request
		}
		data = maskSentCredentials(data, sent)
	}
	return resp.StatusCode, resp.Header, data, nil
}
