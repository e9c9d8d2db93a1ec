package elb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const proj = "99a3fff0d03c428eac3678da6a7d0f24"

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorded serves testdata files per "METHOD path" and records requests.
type recorded struct {
	t      *testing.T
	routes map[string]struct {
		status int
		file   string
	}
	reqs   []string
	bodies []string
}

func (rc *recorded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.reqs = append(rc.reqs, r.Method+" "+r.URL.RequestURI())
	rc.bodies = append(rc.bodies, string(b))
	rt, ok := rc.routes[r.Method+" "+r.URL.Path]
	if !ok {
		w.WriteHeader(404)
		return
	}
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		rc.t.Errorf("POST without JSON content type: %q", r.Header.Get("Content-Type"))
	}
	w.Header().Set("X-Request-Id", "hdr-request-id")
	w.WriteHeader(rt.status)
	w.Write(testdata(rc.t, rt.file))
}

func newRecorded(t *testing.T, routes map[string]struct {
	status int
	file   string
}) (*recorded, Client) {
	rc := &recorded{t: t, routes: routes}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL, ProjectID: proj, Retry: RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return rc, c
}

type route = struct {
	status int
	file   string
}

func TestDecodeRecordedAnswers(t *testing.T) {
	base := "/v3/" + proj + "/elb/pools/36ce7086-a496-4666-9064-5ba0e6840c75"
	rc, c := newRecorded(t, map[string]route{
		"GET " + base:                            {200, "show_pool.json"},
		"GET " + base + "/members":               {200, "list_members_page.json"},
		"POST " + base + "/members/batch-add":    {200, "batch_add.json"},
		"POST " + base + "/members/batch-delete": {200, "batch_delete.json"},
		"POST " + base + "/members/batch-update": {200, "batch_update.json"},
	})
	ctx := context.Background()
	const pool = "36ce7086-a496-4666-9064-5ba0e6840c75"

	p, err := c.GetPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != pool || p.Protocol != "TCP" || p.LBAlgorithm != "ROUND_ROBIN" || p.Type != "" || !p.MemberDeletionProtectionEnable ||
		len(p.Members) != 2 || len(p.Loadbalancers) != 1 || p.IPVersion != "dualstack" || p.ProjectID != proj {
		t.Fatalf("pool %+v", p)
	}

	ms, err := c.ListMembers(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Address != "192.168.44.11" || ms[0].ProtocolPort != 88 || ms[0].SubnetCIDRID == "" ||
		ms[0].MemberType != "instance" || ms[0].OperatingStatus != "ONLINE" || ms[1].Weight != 0 || ms[1].MemberType != "ip" || ms[1].Name != "pod-web-1" {
		t.Fatalf("members %+v", ms)
	}
	// A short page ends the loop after one call, with the documented query.
	if len(rc.reqs) != 2 || rc.reqs[1] != "GET "+base+"/members?limit=2000" {
		t.Fatalf("requests %v", rc.reqs)
	}

	add, err := c.BatchAddMembers(ctx, pool, []NewMember{{Address: "172.16.0.40", ProtocolPort: 8080}, {Address: "172.16.0.31", ProtocolPort: 8080}})
	if err != nil {
		t.Fatal(err)
	}
	if add[0].RetStatus != RetSuccessful || add[1].RetStatus != RetExisted || add[1].ID != "5c6bd6d3-4b9d-4f8a-9c1d-7f0e0b2a1b11" || add[1].Address != "172.16.0.31" {
		t.Fatalf("batch-add %+v", add)
	}
	if rc.bodies[2] != `{"members":[{"address":"172.16.0.40","protocol_port":8080},{"address":"172.16.0.31","protocol_port":8080}]}` {
		t.Fatalf("batch-add body %s", rc.bodies[2])
	}

	del, err := c.BatchDeleteMembers(ctx, pool, []string{"1923923e-fe8a-484f-bdbc-e11559b1f48f", "00000000-0000-0000-0000-000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if del[0].RetStatus != RetSuccessful || del[1].RetStatus != RetNotFound {
		t.Fatalf("batch-delete %+v", del)
	}
	if rc.bodies[3] != `{"members":[{"id":"1923923e-fe8a-484f-bdbc-e11559b1f48f"},{"id":"00000000-0000-0000-0000-000000000000"}]}` {
		t.Fatalf("batch-delete body %s", rc.bodies[3])
	}

	// The answer lists the members in another order than asked: matched by id.
	zero, one := int32(0), int32(1)
	name := "ccictl:test-ns/test-c1:6e2c21d1-43c9-485f-8ba4-859393079f9c"
	upd, err := c.BatchUpdateMembers(ctx, pool, []MemberUpdate{
		{ID: "1923923e-fe8a-484f-bdbc-e11559b1f48f", Weight: &zero},
		{ID: "5c6bd6d3-4b9d-4f8a-9c1d-7f0e0b2a1b11", Name: &name, Weight: &one},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(upd) != 2 || upd[0].ID != "1923923e-fe8a-484f-bdbc-e11559b1f48f" || upd[0].Weight != 0 || upd[0].Address != "192.168.44.11" ||
		upd[1].Name != name || upd[1].Weight != 1 || upd[1].UpdatedAt == "" {
		t.Fatalf("batch-update %+v", upd)
	}
	want := `{"members":[{"id":"1923923e-fe8a-484f-bdbc-e11559b1f48f","weight":0},{"id":"5c6bd6d3-4b9d-4f8a-9c1d-7f0e0b2a1b11","name":"` + name + `","weight":1}]}`
	if rc.bodies[4] != want || rc.reqs[4] != "POST "+base+"/members/batch-update" {
		t.Fatalf("batch-update request %s %s", rc.reqs[4], rc.bodies[4])
	}
}

func TestParseAPIErrorShapes(t *testing.T) {
	hdr := http.Header{"X-Request-Id": {"hdr-request-id"}}
	for _, tc := range []struct {
		file      string
		status    int
		code, msg string
		requestID string
	}{
		{"error_quota.json", 409, "ELB.8905", "Quota exceeded for resources: member", "b89c5b0e7c3b4f28a8a7c0e2a2d3f4e5"},
		{"error_invalid.json", 400, "ELB.1001", "Invalid input for members.", "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"},
		{"error_throttled.json", 429, "APIG.0308", "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second", "3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c"},
		// {code,message} without request_id: the X-Request-Id header fills it.
		{"error_code_message.json", 401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail", "hdr-request-id"},
		{"error_nested.json", 404, "ELB.9903", "pool 36ce7086 could not be found", "aa11bb22cc33dd44ee55ff6677889900"},
		{"error_gateway.html", 502, "", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>", "hdr-request-id"},
	} {
		e := ParseAPIError(tc.status, hdr, testdata(t, tc.file))
		if e.StatusCode != tc.status || e.Code != tc.code || e.Message != tc.msg || e.RequestID != tc.requestID {
			t.Errorf("%s: got %#v", tc.file, e)
		}
		if !strings.Contains(e.Error(), fmt.Sprint(tc.status)) {
			t.Errorf("%s: Error() %q lacks the status", tc.file, e.Error())
		}
	}
	// Empty body: status text; numeric code is kept as text.
	if e := ParseAPIError(503, nil, nil); e.Message != "Service Unavailable" {
		t.Errorf("empty body: %#v", e)
	}
	if e := ParseAPIError(500, nil, []byte(`{"code":500,"message":"x"}`)); e.Code != "500" || e.Message != "x" {
		t.Errorf("numeric code: %#v", e)
	}
	long := strings.Repeat("x", 1000)
	if e := ParseAPIError(500, nil, []byte(long)); len([]rune(e.Message)) > 201 {
		t.Errorf("non-JSON body not shortened: %d chars", len(e.Message))
	}
}

func TestClientReturnsRecordedErrors(t *testing.T) {
	_, c := newRecorded(t, map[string]route{
		"POST /v3/" + proj + "/elb/pools/p1/members/batch-add": {409, "error_quota.json"},
	})
	_, err := c.BatchAddMembers(context.Background(), "p1", []NewMember{{Address: "10.0.0.1", ProtocolPort: 80}})
	e, ok := AsAPIError(err)
	if !ok || e.StatusCode != 409 || e.Code != CodeQuotaExceeded || e.RequestID != "b89c5b0e7c3b4f28a8a7c0e2a2d3f4e5" {
		t.Fatalf("%v", err)
	}
	if !IsQuotaExceeded(err) || IsThrottled(err) || IsNotFound(err) {
		t.Fatal("classification helpers disagree with the error")
	}
}

func TestPagingFollowsNextMarker(t *testing.T) {
	// Full pages with next_marker: the client must pass marker=next_marker
	// together with limit, and stop on the short page.
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		queries = append(queries, q)
		n, next := MaxPageSize, fmt.Sprint("m", len(queries)*MaxPageSize-1)
		if len(queries) == 3 {
			n, next = 5, ""
		}
		page := listMembersResponse{PageInfo: &PageInfo{NextMarker: next, CurrentCount: n}}
		for i := 0; i < n; i++ {
			page.Members = append(page.Members, Member{ID: fmt.Sprint("m", (len(queries)-1)*MaxPageSize+i)})
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, _ := New(Config{Endpoint: srv.URL, ProjectID: proj})
	ms, err := c.ListMembers(context.Background(), "p")
	if err != nil || len(ms) != 2*MaxPageSize+5 {
		t.Fatalf("%d members, %v", len(ms), err)
	}
	want := []string{"limit=2000", "limit=2000&marker=m1999", "limit=2000&marker=m3999"}
	for i, q := range queries {
		if q.Encode() != want[i] {
			t.Errorf("call %d query %q, want %q", i+1, q.Encode(), want[i])
		}
	}
}

func TestPagingGuards(t *testing.T) {
	// A server repeating the same next_marker must not loop forever.
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		page := listMembersResponse{PageInfo: &PageInfo{NextMarker: "same"}, Members: make([]Member, MaxPageSize)}
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, _ := New(Config{Endpoint: srv.URL, ProjectID: proj})
	if _, err := c.ListMembers(context.Background(), "p"); err == nil || calls != 2 {
		t.Fatalf("repeated marker: err=%v after %d calls", err, calls)
	}
}

func TestBatchAnswerMustMatchRequest(t *testing.T) {
	for name, body := range map[string]string{
		"short":          `{"members":[{"id":"a","ret_status":"successful"}]}`,
		"unknown status": `{"members":[{"id":"a","ret_status":"successful"},{"id":"b","ret_status":"failed"}]}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		c, _ := New(Config{Endpoint: srv.URL, ProjectID: proj})
		if _, err := c.BatchDeleteMembers(context.Background(), "p", []string{"a", "b"}); err == nil {
			t.Errorf("%s: accepted", name)
		}
		srv.Close()
	}
}

func TestBatchUpdateAnswerMustMatchRequest(t *testing.T) {
	// Asked: a → weight 0, b → name "n". Each answer below must be refused,
	// since accepting it would let sync believe a weight or name was set.
	for name, body := range map[string]string{
		"short":          `{"members":[{"id":"a","weight":0}]}`,
		"empty":          `{"request_id":"r"}`,
		"unknown id":     `{"members":[{"id":"a","weight":0},{"id":"c","name":"n"}]}`,
		"id twice":       `{"members":[{"id":"a","weight":0},{"id":"a","weight":0}]}`,
		"weight differs": `{"members":[{"id":"a","weight":1},{"id":"b","name":"n"}]}`,
		"name differs":   `{"members":[{"id":"a","weight":0},{"id":"b","name":"other"}]}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		c, _ := New(Config{Endpoint: srv.URL, ProjectID: proj})
		zero, n := int32(0), "n"
		if _, err := c.BatchUpdateMembers(context.Background(), "p", []MemberUpdate{{ID: "a", Weight: &zero}, {ID: "b", Name: &n}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
		srv.Close()
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, Initial: 100 * time.Millisecond, Max: time.Second}
	for attempt, step := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 9: time.Second} {
		for i := 0; i < 50; i++ {
			if d := p.backoff(attempt); d < step/2 || d > step {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, step/2, step)
			}
		}
	}
	if d := (RetryPolicy{}).withDefaults(); d != DefaultRetryPolicy() || d.MaxAttempts != 6 || d.Initial != 200*time.Millisecond || d.Max != 5*time.Second {
		t.Fatalf("defaults %+v", d)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	if d := retryAfter(http.Header{"Retry-After": {"3"}}); d != 3*time.Second {
		t.Fatal(d)
	}
	future := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(http.Header{"Retry-After": {future}}); d < 8*time.Second || d > 10*time.Second {
		t.Fatal(d)
	}
	if d := retryAfter(http.Header{"Retry-After": {"soon"}}); d != 0 {
		t.Fatal(d)
	}
	if d := retryAfter(http.Header{}); d != 0 {
		t.Fatal(d)
	}
}

func TestRetryableTransportError(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "http://x", Err: err} }
	for err, want := range map[error]bool{
		wrap(syscall.ECONNRESET):   true,
		wrap(syscall.ECONNREFUSED): true,
		wrap(io.EOF):               true,
		wrap(io.ErrUnexpectedEOF):  true,
		wrap(&net.OpError{Op: "dial", Err: errors.New("no route")}): true,
		wrap(&net.DNSError{Err: "no such host", IsNotFound: true}):  false,
		wrap(&net.DNSError{Err: "timeout", IsTimeout: true}):        true,
		wrap(errors.New("auth: token request failed")):              false,
		wrap(context.Canceled):                                      false,
	} {
		if got := retryableTransportError(err); got != want {
			t.Errorf("%v: retryable=%v, want %v", err, got, want)
		}
	}
}

func TestPagingFollowsNextMarkerOfShortPages(t *testing.T) {
	// A server that caps pages below limit but gives next_marker: every
	// page is read, and the page without next_marker ends the list.
	const total, capped = 8, 3
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		from := 0
		if m := r.URL.Query().Get("marker"); m != "" {
			fmt.Sscanf(m, "m%d", &from)
			from++
		}
		page := listMembersResponse{PageInfo: &PageInfo{}}
		for i := from; i < min(from+capped, total); i++ {
			page.Members = append(page.Members, Member{ID: fmt.Sprint("m", i)})
		}
		if last := from + len(page.Members); last < total {
			page.PageInfo.NextMarker = fmt.Sprint("m", last-1)
		}
		page.PageInfo.CurrentCount = len(page.Members)
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, _ := New(Config{Endpoint: srv.URL, ProjectID: proj})
	ms, err := c.ListMembers(context.Background(), "p")
	if err != nil || len(ms) != total || calls != 3 {
		t.Fatalf("%d members in %d calls, %v; want %d in 3", len(ms), calls, err, total)
	}
	for i, m := range ms {
		if m.ID != fmt.Sprint("m", i) {
			t.Fatalf("member %d is %s", i, m.ID)
		}
	}
}
