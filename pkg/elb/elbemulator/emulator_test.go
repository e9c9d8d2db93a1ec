package elbemulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

func TestTokenAuth(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Name: "p"})
	path := poolPath(p.ID, "")

	for name, tok := range map[string]string{"missing": "", "wrong": "nope"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if tok != "" {
			req.Header.Set("X-Auth-Token", tok)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		apiResp{rec.Code, rec.Header(), rec.Body.Bytes()}.errBody(t, 401, CodeUnauthorized)
		if strings.Contains(rec.Body.String(), testToken) {
			t.Fatalf("%s: 401 body leaks the configured token", name)
		}
	}
	if r := call(t, e, http.MethodGet, path, nil); r.Status != 200 {
		t.Fatalf("valid token: status %d %s", r.Status, r.Body)
	}
	c := e.Counts()
	if c[OpUnauthorized] != 2 || c[OpGetPool] != 1 {
		t.Fatalf("counts %v: want 2 Unauthorized, 1 GetPool", c)
	}
}

func TestNoCredentialsConfiguredMeansOpen(t *testing.T) {
	e := New(Options{ProjectID: testProject})
	p := e.CreatePool(elb.Pool{})
	req := httptest.NewRequest(http.MethodGet, poolPath(p.ID, ""), nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d, want 200 without configured credentials", rec.Code)
	}
}

func TestAKSKAuth(t *testing.T) {
	const ak, sk = "AKEXAMPLE", "SKEXAMPLE-secret"
	e := New(Options{ProjectID: testProject, AccessKey: ak, SecretKey: sk})
	p := e.CreatePool(elb.Pool{})
	srv := httptest.NewServer(e)
	defer srv.Close()

	send := func(method, path string, body []byte, mutate func(*http.Request, *[]byte)) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		signAKSK(t, req, body, ak, sk, time.Now())
		sent := body
		if mutate != nil {
			mutate(req, &sent)
		}
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.ContentLength = int64(len(sent))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	list := poolPath(p.ID, "/members?limit=2000")
	add := poolPath(p.ID, "/members/batch-add")
	body, _ := json.Marshal(map[string]any{"members": newMembers(0, 2, 80)})

	if s := send(http.MethodGet, list, nil, nil); s != 200 {
		t.Fatalf("signed GET with query: %d, want 200", s)
	}
	if s := send(http.MethodPost, add, body, nil); s != 200 {
		t.Fatalf("signed POST: %d, want 200", s)
	}
	cases := map[string]func(*http.Request, *[]byte){
		"tampered body":  func(_ *http.Request, b *[]byte) { *b = bytes.Replace(*b, []byte("192.168"), []byte("192.169"), 1) },
		"tampered query": func(r *http.Request, _ *[]byte) { r.URL.RawQuery = "limit=1" },
		"other path":     func(r *http.Request, _ *[]byte) { r.URL.Path = poolPath("other", "/members") },
		"no date":        func(r *http.Request, _ *[]byte) { r.Header.Del("X-Sdk-Date") },
		"wrong access key": func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Access="+ak, "Access=AKOTHER", 1))
		},
		"stale date": func(r *http.Request, b *[]byte) {
			// Correctly signed, but 20 minutes ago: outside the 15-minute window.
			r.Header.Del("Authorization")
			r.Header.Del("X-Sdk-Date")
			signAKSK(t, r, *b, ak, sk, time.Now().Add(-20*time.Minute))
		},
		"wrong secret": func(r *http.Request, b *[]byte) {
			r.Header.Del("Authorization")
			r.Header.Del("X-Sdk-Date")
			signAKSK(t, r, *b, ak, "not-the-secret", time.Now())
		},
	}
	for name, mutate := range cases {
		if s := send(http.MethodPost, add, body, mutate); s != 401 {
			t.Errorf("%s: status %d, want 401", name, s)
		}
	}
	// A token is not accepted when only AK/SK is configured.
	req := httptest.NewRequest(http.MethodGet, list, nil)
	req.Header.Set("X-Auth-Token", "anything")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("token with AK/SK-only emulator: %d, want 401", rec.Code)
	}
}

func TestNotFoundAndUnknownRoutes(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	call(t, e, http.MethodGet, poolPath("no-such-pool", ""), nil).errBody(t, 404, CodeNotFound)
	call(t, e, http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/elb/pools/"+p.ID, nil).errBody(t, 404, CodeNotFound)
	call(t, e, http.MethodGet, poolPath("no-such-pool", "/members"), nil).errBody(t, 404, CodeNotFound)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), nil).errBody(t, 400, CodeInvalid) // empty body
	call(t, e, http.MethodGet, poolPath(p.ID, "/members/batch-add"), nil).errBody(t, 404, CodeNoAPI)
	call(t, e, http.MethodDelete, poolPath(p.ID, ""), nil).errBody(t, 404, CodeNoAPI)
	call(t, e, http.MethodGet, "/v2/whatever", nil).errBody(t, 404, CodeNoAPI)
	if c := e.Counts(); c[OpUnknown] != 3 || c[OpGetPool] != 2 || c[OpListMembers] != 1 {
		t.Fatalf("counts %v", c)
	}
}

func TestGetPool(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Name: "web", Type: "", Loadbalancers: []elb.Ref{{ID: "lb1"}}, MemberDeletionProtectionEnable: true})
	if len(p.ID) != 36 || p.ProjectID != testProject || p.Protocol != "TCP" {
		t.Fatalf("CreatePool defaults: %+v", p)
	}
	seed(t, e, p.ID, 3)
	r := call(t, e, http.MethodGet, poolPath(p.ID, ""), nil)
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if _, ok := raw["request_id"]; !ok || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("answer lacks request_id: %s", r.Body)
	}
	var got struct {
		Pool elb.Pool `json:"pool"`
	}
	r.decode(t, &got)
	if got.Pool.ID != p.ID || got.Pool.Name != "web" || !got.Pool.MemberDeletionProtectionEnable ||
		len(got.Pool.Members) != 3 || len(got.Pool.Loadbalancers) != 1 || got.Pool.Listeners == nil {
		t.Fatalf("pool %+v", got.Pool)
	}
	// "type" is present even when empty (the hybrid pool PoolBinding needs).
	if !bytes.Contains(r.Body, []byte(`"type":""`)) {
		t.Fatalf("pool JSON lacks \"type\":\"\": %s", r.Body)
	}
	// connection_drain is always an object; lb_algorithm as created.
	if got.Pool.ConnectionDrain == nil || got.Pool.ConnectionDrain.Enable || got.Pool.LBAlgorithm != "ROUND_ROBIN" {
		t.Fatalf("pool connection_drain %+v, lb_algorithm %q", got.Pool.ConnectionDrain, got.Pool.LBAlgorithm)
	}
	cd := &elb.ConnectionDrain{Enable: true, Timeout: 300}
	q := e.CreatePool(elb.Pool{Protocol: "UDP", LBAlgorithm: "SOURCE_IP", ConnectionDrain: cd})
	cd.Timeout = 1 // the emulator keeps its own copy
	call(t, e, http.MethodGet, poolPath(q.ID, ""), nil).decode(t, &got)
	if d := got.Pool.ConnectionDrain; d == nil || !d.Enable || d.Timeout != 300 || got.Pool.LBAlgorithm != "SOURCE_IP" ||
		!got.Pool.DrainsOnRemove() || !got.Pool.WeightIgnored() {
		t.Fatalf("pool %+v drain %+v", got.Pool, got.Pool.ConnectionDrain)
	}
}

func TestPaging(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 4500)

	var ids []string
	marker := ""
	var counts []int
	for page := 0; page < 10; page++ {
		path := poolPath(p.ID, "/members?limit=2000")
		if marker != "" {
			path += "&marker=" + marker
		}
		r := call(t, e, http.MethodGet, path, nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", page, r.Status, r.Body)
		}
		var a listAnswer
		r.decode(t, &a)
		if a.PageInfo.CurrentCount != len(a.Members) {
			t.Fatalf("current_count %d for %d members", a.PageInfo.CurrentCount, len(a.Members))
		}
		counts = append(counts, len(a.Members))
		for _, m := range a.Members {
			ids = append(ids, m.ID)
		}
		if a.PageInfo.PreviousMarker != a.Members[0].ID {
			t.Fatalf("previous_marker %q, want first ID %q", a.PageInfo.PreviousMarker, a.Members[0].ID)
		}
		if a.PageInfo.NextMarker == nil {
			break
		}
		if *a.PageInfo.NextMarker != a.Members[len(a.Members)-1].ID {
			t.Fatalf("next_marker is not the last ID of the page")
		}
		marker = *a.PageInfo.NextMarker
	}
	if fmt.Sprint(counts) != "[2000 2000 500]" {
		t.Fatalf("page sizes %v, want [2000 2000 500]", counts)
	}
	if !sort.StringsAreSorted(ids) || len(ids) != 4500 {
		t.Fatalf("got %d IDs, sorted=%v: paging must be stable by member ID", len(ids), sort.StringsAreSorted(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("duplicate ID %s across pages", ids[i])
		}
	}
	if c := e.Counts()[OpListMembers]; c != 3 {
		t.Fatalf("ListMembers count %d, want 3", c)
	}

	// Default limit is 2000; a small limit pages accordingly.
	var a listAnswer
	call(t, e, http.MethodGet, poolPath(p.ID, "/members"), nil).decode(t, &a)
	if len(a.Members) != 2000 {
		t.Fatalf("default page has %d members, want 2000", len(a.Members))
	}
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?limit=7&marker="+ids[9]), nil).decode(t, &a)
	if len(a.Members) != 7 || a.Members[0].ID != ids[10] {
		t.Fatalf("limit=7 after ids[9]: got %d starting %s", len(a.Members), a.Members[0].ID)
	}
	// page_reverse with a marker gives the page before it.
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?limit=5&page_reverse=true&marker="+ids[10]), nil).decode(t, &a)
	if len(a.Members) != 5 || a.Members[0].ID != ids[5] || a.Members[4].ID != ids[9] {
		t.Fatalf("reverse page wrong: %d members", len(a.Members))
	}
}

func TestPagingExactlyFullPageHasNoNextMarker(t *testing.T) {
	// A pool of exactly 2000 members is one page; no next_marker, so a
	// client following the documented loop makes exactly one call.
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 2000)
	var a listAnswer
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?limit=2000"), nil).decode(t, &a)
	if len(a.Members) != 2000 || a.PageInfo.NextMarker != nil {
		t.Fatalf("%d members, next_marker %v", len(a.Members), a.PageInfo.NextMarker)
	}
	// Empty pool: empty page, members is [] not null.
	q := e.CreatePool(elb.Pool{})
	r := call(t, e, http.MethodGet, poolPath(q.ID, "/members?limit=2000"), nil)
	if !bytes.Contains(r.Body, []byte(`"members":[]`)) || !bytes.Contains(r.Body, []byte(`"current_count":0`)) {
		t.Fatalf("empty pool answer %s", r.Body)
	}
}

func TestListValidation(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 3)
	other := e.CreatePool(elb.Pool{})
	seed(t, e, other.ID, 1)
	foreignID := e.Members(other.ID)[0].ID
	for _, q := range []string{
		"limit=2001", "limit=-1", "limit=abc", "limit=1&limit=2",
		"limit=10&marker=", "limit=10&marker=not-a-member", "limit=10&marker=" + foreignID,
		"marker=" + e.Members(p.ID)[0].ID, // marker must be used with limit
		"limit=10&page_reverse=yes",
		"limit=10&address=10.0.0.1", // filters are not modelled: refuse, don't ignore
	} {
		call(t, e, http.MethodGet, poolPath(p.ID, "/members?"+q), nil).errBody(t, 400, CodeInvalid)
	}
}

func TestBatchAdd(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	path := poolPath(p.ID, "/members/batch-add")
	w0 := int32(0)
	items := []elb.NewMember{
		{Address: "10.0.0.1", ProtocolPort: 80, Name: "a"},
		{Address: "2001:DB8::1", ProtocolPort: 80, SubnetCIDRID: "subnet-1", Weight: &w0},
	}
	r := call(t, e, http.MethodPost, path, map[string]any{"members": items})
	if r.Status != 200 {
		t.Fatalf("batch-add: %d %s", r.Status, r.Body)
	}
	var a batchAnswer
	r.decode(t, &a)
	if len(a.Members) != 2 || a.Members[0].RetStatus != elb.RetSuccessful || a.Members[1].RetStatus != elb.RetSuccessful || a.Members[0].ID == "" {
		t.Fatalf("results %+v", a.Members)
	}
	ms := e.Members(p.ID)
	if len(ms) != 2 || ms[0].Address != "10.0.0.1" || ms[0].Weight != 1 || ms[0].MemberType != "ip" || ms[0].IPVersion != "v4" ||
		ms[1].Address != "2001:db8::1" || ms[1].Weight != 0 || ms[1].MemberType != "instance" || ms[1].IPVersion != "v6" {
		t.Fatalf("stored members %+v", ms)
	}
	// The same address+port again (IPv6 written differently) is "existed",
	// not an error, and keeps the original ID; a new one is added.
	again := []elb.NewMember{{Address: "2001:db8:0::1", ProtocolPort: 80}, {Address: "10.0.0.1", ProtocolPort: 81}}
	call(t, e, http.MethodPost, path, map[string]any{"members": again}).decode(t, &a)
	if a.Members[0].RetStatus != elb.RetExisted || a.Members[0].ID != ms[1].ID || a.Members[1].RetStatus != elb.RetSuccessful {
		t.Fatalf("second add %+v", a.Members)
	}
	if n := len(e.Members(p.ID)); n != 3 {
		t.Fatalf("%d members, want 3", n)
	}

	bad := map[string]any{
		"too many":         map[string]any{"members": newMembers(0, 201, 80)},
		"empty":            map[string]any{"members": []any{}},
		"no port":          `{"members":[{"address":"10.1.1.1"}]}`,
		"port 70000":       `{"members":[{"address":"10.1.1.1","protocol_port":70000}]}`,
		"bad address":      `{"members":[{"address":"host.example","protocol_port":80}]}`,
		"weight 101":       `{"members":[{"address":"10.1.1.1","protocol_port":80,"weight":101}]}`,
		"unknown field":    `{"members":[{"address":"10.1.1.1","protocol_port":80,"bogus":1}]}`,
		"not json":         `{"members":`,
		"one bad in batch": `{"members":[{"address":"10.1.1.1","protocol_port":80},{"address":"x","protocol_port":80}]}`,
	}
	for name, body := range bad {
		r := call(t, e, http.MethodPost, path, body)
		if r.Status != 400 {
			t.Errorf("%s: status %d, want 400", name, r.Status)
		}
	}
	if n := len(e.Members(p.ID)); n != 3 {
		t.Fatalf("rejected batches changed the pool: %d members", n)
	}
}

func TestBatchAddQuota(t *testing.T) {
	e := newTestEmulator(Options{MemberQuota: 10})
	p := e.CreatePool(elb.Pool{})
	path := poolPath(p.ID, "/members/batch-add")
	if r := call(t, e, http.MethodPost, path, map[string]any{"members": newMembers(0, 8, 80)}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	// 8 + 3 new > 10: whole batch rejected, nothing added.
	call(t, e, http.MethodPost, path, map[string]any{"members": newMembers(6, 5, 80)}).errBody(t, 409, CodeQuota)
	if n := len(e.Members(p.ID)); n != 8 {
		t.Fatalf("quota-rejected batch added members: %d", n)
	}
	// Existing members do not count against the quota: 8 + 2 new = 10 is fine.
	if r := call(t, e, http.MethodPost, path, map[string]any{"members": newMembers(6, 4, 80)}); r.Status != 200 {
		t.Fatalf("at-quota batch: %d %s", r.Status, r.Body)
	}
	if def := New(Options{}).opts.MemberQuota; def != 500 {
		t.Fatalf("default quota %d, want documented 500", def)
	}
}

func TestBatchDelete(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 5)
	ms := e.Members(p.ID)
	path := poolPath(p.ID, "/members/batch-delete")

	body := fmt.Sprintf(`{"members":[{"id":%q},{"id":"no-such-id"},{"address":%q,"protocol_port":8080},{"address":"10.9.9.9","protocol_port":8080},{"id":%q}]}`,
		ms[0].ID, ms[1].Address, ms[0].ID)
	r := call(t, e, http.MethodPost, path, body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var a batchAnswer
	r.decode(t, &a)
	want := []elb.BatchResult{
		{ID: ms[0].ID, RetStatus: elb.RetSuccessful},
		{ID: "no-such-id", RetStatus: elb.RetNotFound},
		{ID: ms[1].ID, RetStatus: elb.RetSuccessful},
		{ID: "", RetStatus: elb.RetNotFound},
		{ID: ms[0].ID, RetStatus: elb.RetNotFound}, // already removed earlier in this batch
	}
	if fmt.Sprint(a.Members) != fmt.Sprint(want) {
		t.Fatalf("results %+v\nwant %+v", a.Members, want)
	}
	if n := len(e.Members(p.ID)); n != 3 {
		t.Fatalf("%d members left, want 3", n)
	}

	left := e.Members(p.ID)
	for name, body := range map[string]string{
		"id and address": fmt.Sprintf(`{"members":[{"id":%q,"address":%q,"protocol_port":8080}]}`, left[0].ID, left[0].Address),
		"id and port":    fmt.Sprintf(`{"members":[{"id":%q,"protocol_port":8080}]}`, left[0].ID),
		"address only":   fmt.Sprintf(`{"members":[{"address":%q}]}`, left[0].Address),
		"empty id":       `{"members":[{"id":""}]}`,
		"empty list":     `{"members":[]}`,
	} {
		call(t, e, http.MethodPost, path, body).errBody(t, 400, CodeInvalid)
		_ = name
	}
	ids := make([]map[string]string, 201)
	for i := range ids {
		ids[i] = map[string]string{"id": fmt.Sprint("x", i)}
	}
	call(t, e, http.MethodPost, path, map[string]any{"members": ids}).errBody(t, 400, CodeInvalid)
	if n := len(e.Members(p.ID)); n != 3 {
		t.Fatalf("rejected deletes changed the pool: %d members", n)
	}
}

func TestBatchUpdate(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Protocol: "HTTP"})
	seed(t, e, p.ID, 3)
	ms := e.Members(p.ID)
	path := poolPath(p.ID, "/members/batch-update")
	body := fmt.Sprintf(`{"members":[{"id":%q,"weight":0},{"id":%q,"name":"n1","weight":100},{"id":%q,"name":""}]}`, ms[1].ID, ms[0].ID, ms[2].ID)
	r := call(t, e, http.MethodPost, path, body)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var a struct {
		RequestID string       `json:"request_id"`
		Members   []elb.Member `json:"members"`
	}
	r.decode(t, &a)
	if a.RequestID == "" || len(a.Members) != 3 || a.Members[0].ID != ms[1].ID || a.Members[0].Weight != 0 ||
		a.Members[1].ID != ms[0].ID || a.Members[1].Name != "n1" || a.Members[1].Weight != 100 || a.Members[0].Address != ms[1].Address {
		t.Fatalf("answer %s", r.Body)
	}
	if bytes.Contains(r.Body, []byte("ret_status")) {
		t.Fatalf("the documented batch-update answer has no ret_status: %s", r.Body)
	}
	after := e.Members(p.ID)
	if after[0].Name != "n1" || after[0].Weight != 100 || after[1].Weight != 0 || after[2].Name != "" || after[2].Address != ms[2].Address {
		t.Fatalf("stored %+v", after)
	}

	bad := map[string]string{
		"no id":           `{"members":[{"weight":1}]}`,
		"empty id":        `{"members":[{"id":"","weight":1}]}`,
		"unknown id":      fmt.Sprintf(`{"members":[{"id":%q,"weight":7},{"id":"no-such-member","weight":7}]}`, ms[0].ID),
		"id twice":        fmt.Sprintf(`{"members":[{"id":%q,"weight":7},{"id":%q,"weight":7}]}`, ms[0].ID, ms[0].ID),
		"weight 101":      fmt.Sprintf(`{"members":[{"id":%q,"weight":101}]}`, ms[0].ID),
		"weight -1":       fmt.Sprintf(`{"members":[{"id":%q,"weight":-1}]}`, ms[0].ID),
		"admin_state_up":  fmt.Sprintf(`{"members":[{"id":%q,"admin_state_up":true}]}`, ms[0].ID),
		"protocol_port":   fmt.Sprintf(`{"members":[{"id":%q,"protocol_port":81}]}`, ms[0].ID),
		"unknown field":   fmt.Sprintf(`{"members":[{"id":%q,"address":"10.1.1.1"}]}`, ms[0].ID),
		"empty list":      `{"members":[]}`,
		"long name":       fmt.Sprintf(`{"members":[{"id":%q,"name":%q}]}`, ms[0].ID, strings.Repeat("x", 256)),
		"not json":        `{"members":`,
		"one bad, one ok": fmt.Sprintf(`{"members":[{"id":%q,"weight":7},{"id":%q,"weight":200}]}`, ms[0].ID, ms[1].ID),
	}
	for name, body := range bad {
		r := call(t, e, http.MethodPost, path, body)
		if r.Status != 400 {
			t.Errorf("%s: status %d, want 400", name, r.Status)
		}
	}
	ids := make([]map[string]any, 201)
	for i := range ids {
		ids[i] = map[string]any{"id": ms[0].ID, "weight": 1}
	}
	call(t, e, http.MethodPost, path, map[string]any{"members": ids}).errBody(t, 400, CodeInvalid)
	if got := e.Members(p.ID); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Fatalf("rejected updates changed the pool:\n%+v\n%+v", got, after)
	}
	if c := e.Counts(); c[OpBatchUpdateMembers] != 2+len(bad) || c[OpBatchAddMembers] != 0 || c[OpBatchDeleteMembers] != 0 {
		t.Fatalf("counts %v", c)
	}
	call(t, e, http.MethodGet, path, nil).errBody(t, 404, CodeNoAPI)
	call(t, e, http.MethodPost, poolPath("no-such-pool", "/members/batch-update"), body).errBody(t, 404, CodeNotFound)
}

func TestDeletionProtection(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{MemberDeletionProtectionEnable: true})
	seed(t, e, p.ID, 2)
	id := e.Members(p.ID)[0].ID
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-delete"),
		map[string]any{"members": []elb.Ref{{ID: id}}}).errBody(t, 409, CodeDeletionProtection)
	if n := len(e.Members(p.ID)); n != 2 {
		t.Fatalf("protected pool lost members: %d", n)
	}
	// Turning protection off (re-creating the pool) keeps members and allows deletion.
	p.MemberDeletionProtectionEnable = false
	e.CreatePool(p)
	if r := call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-delete"), map[string]any{"members": []elb.Ref{{ID: id}}}); r.Status != 200 {
		t.Fatalf("unprotected delete: %d", r.Status)
	}
}

func TestFaults(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	get := func() int { return call(t, e, http.MethodGet, poolPath(p.ID, ""), nil).Status }

	e.SetFaults(Faults{ThrottleFirst: 2})
	r := call(t, e, http.MethodGet, poolPath(p.ID, ""), nil)
	r.errBody(t, 429, CodeThrottled)
	if got := []int{get(), get(), get()}; fmt.Sprint(got) != "[429 200 200]" {
		t.Fatalf("ThrottleFirst=2: %v", got)
	}

	e.SetFaults(Faults{ThrottleEvery: 3})
	var got []int
	for i := 0; i < 6; i++ {
		got = append(got, get())
	}
	if fmt.Sprint(got) != "[200 200 429 200 200 429]" {
		t.Fatalf("ThrottleEvery=3: %v", got)
	}

	e.SetFaults(Faults{FailEvery: 2})
	got = nil
	for i := 0; i < 4; i++ {
		got = append(got, get())
	}
	if fmt.Sprint(got) != "[200 503 200 500]" {
		t.Fatalf("FailEvery=2: %v", got)
	}
	e.SetFaults(Faults{})
	if s := get(); s != 200 {
		t.Fatalf("faults off: %d", s)
	}
	c := e.Counts()
	if c[OpThrottled] != 4 || c[OpFaulted] != 2 || c[OpGetPool] != 2+4+2+1 {
		t.Fatalf("counts %v", c)
	}
	e.ResetCounts()
	if c := e.Counts(); c[OpGetPool] != 0 || c[OpThrottled] != 0 || len(c) != 14 {
		t.Fatalf("after reset %v", c)
	}
}

func TestLatency(t *testing.T) {
	e := newTestEmulator(Options{Latency: 30 * time.Millisecond})
	p := e.CreatePool(elb.Pool{})
	start := time.Now()
	call(t, e, http.MethodGet, poolPath(p.ID, ""), nil)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("call took %v, want >= 30ms", d)
	}
	e.SetLatency(0)
	start = time.Now()
	call(t, e, http.MethodGet, poolPath(p.ID, ""), nil)
	if d := time.Since(start); d >= 30*time.Millisecond {
		t.Fatalf("call took %v after SetLatency(0)", d)
	}
}

func TestAddMemberDirect(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	m, err := e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.9", ProtocolPort: 80, Name: "foreign"})
	if err != nil || m.ID == "" || m.ProjectID != testProject {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.9", ProtocolPort: 80}); err == nil {
		t.Fatal("duplicate address+port accepted")
	}
	if _, err := e.AddMemberDirect("nope", elb.Member{Address: "10.0.0.9", ProtocolPort: 80}); err == nil {
		t.Fatal("unknown pool accepted")
	}
	if _, err := e.AddMemberDirect(p.ID, elb.Member{Address: "bad", ProtocolPort: 80}); err == nil {
		t.Fatal("bad address accepted")
	}
	// Members sorts by address, numerically, then port.
	e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.10", ProtocolPort: 80})
	e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.9", ProtocolPort: 79})
	var order []string
	for _, m := range e.Members(p.ID) {
		order = append(order, fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort))
	}
	if fmt.Sprint(order) != "[10.0.0.9:79 10.0.0.9:80 10.0.0.10:80]" {
		t.Fatalf("order %v", order)
	}
	if e.Counts()[OpBatchAddMembers] != 0 {
		t.Fatal("admin calls must not be counted")
	}
}

func TestConcurrentRequests(t *testing.T) {
	// Many clients add disjoint members, list and delete at once; run with
	// -race. The final pool must hold exactly the surviving members.
	e := newTestEmulator(Options{MemberQuota: 100000})
	p := e.CreatePool(elb.Pool{})
	srv := httptest.NewServer(e)
	defer srv.Close()
	post := func(path string, body any) batchAnswer {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(data))
		req.Header.Set("X-Auth-Token", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return batchAnswer{}
		}
		defer resp.Body.Close()
		var a batchAnswer
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&a) != nil {
			t.Errorf("POST %s: %d", path, resp.StatusCode)
		}
		return a
	}
	const workers, batches = 8, 5
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				a := post(poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers((w*batches+b)*200, 200, 80)})
				if b%2 == 1 { // delete half of the odd batches again
					var refs []elb.Ref
					for _, m := range a.Members[:100] {
						refs = append(refs, elb.Ref{ID: m.ID})
					}
					post(poolPath(p.ID, "/members/batch-delete"), map[string]any{"members": refs})
				}
				req, _ := http.NewRequest(http.MethodGet, srv.URL+poolPath(p.ID, "/members?limit=100"), nil)
				req.Header.Set("X-Auth-Token", testToken)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}(w)
	}
	wg.Wait()
	want := workers * (batches*200 - 2*100)
	if n := len(e.Members(p.ID)); n != want {
		t.Fatalf("%d members, want %d", n, want)
	}
	c := e.Counts()
	if c[OpBatchAddMembers] != workers*batches || c[OpBatchDeleteMembers] != workers*2 || c[OpListMembers] != workers*batches {
		t.Fatalf("counts %v", c)
	}
	// The sorted ID index must agree with the maps after concurrent changes.
	ps := e.pool(p.ID)
	ps.settle()
	if len(ps.ids) != want || !sort.StringsAreSorted(ps.ids) {
		t.Fatalf("index has %d ids (sorted=%v), want %d", len(ps.ids), sort.StringsAreSorted(ps.ids), want)
	}
}

func TestAdminEndpointsAndListenAndServe(t *testing.T) {
	e := newTestEmulator(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	url, err := ListenAndServe(ctx, "127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, b := do("GET", "/_emulator/", ""); s != 200 || !strings.Contains(b, testProject) || !strings.Contains(b, "test double") {
		t.Fatalf("index: %d %s", s, b)
	}
	if s, _ := do("POST", "/_emulator/pools", `{"id":"pool-1","name":"demo"}`); s != 201 {
		t.Fatalf("create pool: %d", s)
	}
	if s, _ := do("POST", "/_emulator/pools/pool-1/members", `{"address":"10.0.0.1","protocol_port":80}`); s != 201 {
		t.Fatalf("add member: %d", s)
	}
	if s, b := do("GET", "/_emulator/pools/pool-1/members", ""); s != 200 || !strings.Contains(b, `"10.0.0.1"`) {
		t.Fatalf("members: %d %s", s, b)
	}
	if s, _ := do("PUT", "/_emulator/faults", `{"throttle_first":1}`); s != 200 {
		t.Fatalf("faults: %d", s)
	}
	if s, _ := do("PUT", "/_emulator/latency", `{"latency":"1ms"}`); s != 200 {
		t.Fatalf("latency: %d", s)
	}
	if s, _ := do("GET", "/v3/"+testProject+"/elb/pools/pool-1", ""); s != 401 {
		t.Fatalf("vendor API without token over the network: %d, want 401", s)
	}
	if s, b := do("GET", "/_emulator/counts", ""); s != 200 || !strings.Contains(b, `"Unauthorized":1`) {
		t.Fatalf("counts: %d %s", s, b)
	}
	if s, _ := do("DELETE", "/_emulator/counts", ""); s != 204 {
		t.Fatalf("reset: %d", s)
	}
	if s, _ := do("GET", "/_emulator/nope", ""); s != 404 {
		t.Fatalf("unknown admin path: %d", s)
	}
	if e.Counts()[OpUnauthorized] != 0 {
		t.Fatal("DELETE /_emulator/counts did not reset")
	}
	cancel()
	// After ctx ends the server stops accepting requests.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(url + "/_emulator/"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still answering after ctx was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listPage reads one unfiltered page.
func listPage(t *testing.T, e *Emulator, poolID, marker string) listAnswer {
	t.Helper()
	path := poolPath(poolID, "/members?limit=2000")
	if marker != "" {
		path += "&marker=" + marker
	}
	r := call(t, e, http.MethodGet, path, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var a listAnswer
	r.decode(t, &a)
	return a
}

func TestListFaults(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 5)
	all := e.Members(p.ID)

	// PageCap: pages of 2 with next_marker although limit is 2000.
	e.SetFaults(Faults{PageCap: 2})
	a := listPage(t, e, p.ID, "")
	if len(a.Members) != 2 || a.PageInfo.NextMarker == nil || *a.PageInfo.NextMarker != a.Members[1].ID {
		t.Fatalf("capped page: %d members, next_marker %v", len(a.Members), a.PageInfo.NextMarker)
	}
	// DropNextMarker: the next page that has more after it says nothing.
	e.SetFaults(Faults{PageCap: 2, DropNextMarker: 1})
	if a = listPage(t, e, p.ID, ""); len(a.Members) != 2 || a.PageInfo.NextMarker != nil {
		t.Fatalf("dropped marker: %d members, next_marker %v", len(a.Members), a.PageInfo.NextMarker)
	}
	if a = listPage(t, e, p.ID, ""); a.PageInfo.NextMarker == nil {
		t.Fatal("DropNextMarker 1 dropped a second marker")
	}
	// ListOmit by address:port for one request; ShowPool still names it.
	gone := fmt.Sprintf("%s:%d", all[0].Address, all[0].ProtocolPort)
	e.SetFaults(Faults{ListOmit: []string{gone}, ListOmitCalls: 1})
	if a = listPage(t, e, p.ID, ""); len(a.Members) != 4 || a.PageInfo.CurrentCount != 4 {
		t.Fatalf("omitting list: %d members (count %d), want 4", len(a.Members), a.PageInfo.CurrentCount)
	}
	var sp struct{ Pool elb.Pool }
	call(t, e, http.MethodGet, poolPath(p.ID, ""), nil).decode(t, &sp)
	if len(sp.Pool.Members) != 5 {
		t.Fatalf("ShowPool names %d members, want 5", len(sp.Pool.Members))
	}
	if a = listPage(t, e, p.ID, ""); len(a.Members) != 5 {
		t.Fatalf("after ListOmitCalls: %d members, want 5", len(a.Members))
	}
	// Filtered reads are answered in full.
	e.SetFaults(Faults{ListOmit: []string{all[0].ID}})
	r := call(t, e, http.MethodGet, poolPath(p.ID, "/members?id="+all[0].ID), nil)
	var f listAnswer
	r.decode(t, &f)
	if len(f.Members) != 1 {
		t.Fatalf("id filter under ListOmit: %d members", len(f.Members))
	}
	e.SetFaults(Faults{})

	// A mutation between pages: the member moves to a new ID that sorts
	// last, so one list shows its address twice.
	e.SetFaults(Faults{PageCap: 3})
	low := ""
	for _, m := range all {
		if low == "" || m.ID < low {
			low = m.ID
		}
	}
	var lowM elb.Member
	for _, m := range all {
		if m.ID == low {
			lowM = m
		}
	}
	fired := false
	e.SetBeforeListPage(func(poolID, marker string) {
		if marker == "" || fired {
			return
		}
		fired = true
		if err := e.RemoveMemberDirect(poolID, lowM.ID); err != nil {
			t.Error(err)
		}
		if _, err := e.AddMemberDirect(poolID, elb.Member{ID: "ffffffff-0000-4000-8000-000000000000", Address: lowM.Address, ProtocolPort: lowM.ProtocolPort}); err != nil {
			t.Error(err)
		}
	})
	first := listPage(t, e, p.ID, "")
	second := listPage(t, e, p.ID, *first.PageInfo.NextMarker)
	seen := map[string]int{}
	for _, m := range append(first.Members, second.Members...) {
		seen[fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)]++
	}
	if k := fmt.Sprintf("%s:%d", lowM.Address, lowM.ProtocolPort); seen[k] != 2 {
		t.Fatalf("moved member seen %d times across the pages, want 2 (%v)", seen[k], seen)
	}
	if err := e.RemoveMemberDirect(p.ID, "no-such-member"); err == nil {
		t.Fatal("RemoveMemberDirect of an unknown member succeeded")
	}
}

// TestGatewayAndLostAnswerFaults: NoAPIFirst answers calls as API Gateway
// does for an API it does not route (404 APIGW.0101, the pool untouched);
// LoseAnswerFirst applies a write and answers 500, so that the repeat
// finds it done ("existed", "not found"); LoseAnswerOps narrows it to
// the operations named.
func TestGatewayAndLostAnswerFaults(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{})
	seed(t, e, p.ID, 2)
	e.SetFaults(Faults{NoAPIFirst: 2})
	call(t, e, http.MethodGet, poolPath(p.ID, ""), nil).errBody(t, 404, CodeNoAPI)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 1, 80)}).errBody(t, 404, CodeNoAPI)
	if n := len(e.Members(p.ID)); n != 2 {
		t.Fatalf("a call answered by the gateway changed the pool: %d members", n)
	}
	if r := call(t, e, http.MethodGet, poolPath(p.ID, ""), nil); r.Status != 200 {
		t.Fatalf("third call: status %d, want 200", r.Status)
	}

	e.SetFaults(Faults{LoseAnswerFirst: 1, LoseAnswerOps: []string{OpBatchDeleteMembers}})
	add := map[string]any{"members": newMembers(0, 2, 80)}
	if r := call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), add); r.Status != 200 {
		t.Fatalf("batch-add not in LoseAnswerOps: status %d", r.Status)
	}
	ms := e.Members(p.ID)
	del := map[string]any{"members": []map[string]string{{"id": ms[0].ID}}}
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-delete"), del).errBody(t, 500, CodeFault)
	if n := len(e.Members(p.ID)); n != 3 {
		t.Fatalf("the lost delete was not applied: %d members, want 3", n)
	}
	var a batchAnswer
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-delete"), del).decode(t, &a)
	if len(a.Members) != 1 || a.Members[0].RetStatus != elb.RetNotFound {
		t.Fatalf("repeat of the lost delete: %+v, want not found", a.Members)
	}

	e.SetFaults(Faults{LoseAnswerFirst: 1})
	more := map[string]any{"members": newMembers(10, 1, 80)}
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), more).errBody(t, 500, CodeFault)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), more).decode(t, &a)
	if len(a.Members) != 1 || a.Members[0].RetStatus != elb.RetExisted || a.Members[0].ID == "" {
		t.Fatalf("repeat of the lost add: %+v, want existed with its id", a.Members)
	}
	e.SetFaults(Faults{FailOps: []string{OpBatchUpdateMembers}})
	upd := map[string]any{"members": []map[string]any{{"id": ms[1].ID, "weight": 0}}}
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-update"), upd).errBody(t, 503, CodeFault)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-update"), upd).errBody(t, 503, CodeFault)
	if r := call(t, e, http.MethodGet, poolPath(p.ID, ""), nil); r.Status != 200 {
		t.Fatalf("GetPool under FailOps for batch-update: status %d", r.Status)
	}
	if c := e.Counts(); c[OpNoAPI] != 2 || c[OpAnswerLost] != 2 || c[OpFaulted] != 2 {
		t.Fatalf("counts %v: want 2 gateway answers and 2 lost answers", c)
	}
}
