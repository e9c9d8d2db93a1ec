package elbemulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/openvessel/ccictl/pkg/elb"
)

const (
	testProject = "0123456789abcdef0123456789abcdef"
	testToken   = "tok-secret-123"
)

// signAKSK signs an outgoing request the way the vendor SDK does: every
// header in the request plus host and X-Sdk-Date, body hashed.
func signAKSK(t testing.TB, req *http.Request, body []byte, ak, sk string, at time.Time) {
	t.Helper()
	b := request.NewHttpRequestBuilder().
		WithEndpoint(req.URL.Scheme+"://"+req.URL.Host).
		WithPath(req.URL.Path).
		WithMethod(req.Method).
		WithBody("", string(body))
	for k, vs := range req.URL.Query() {
		b.AddQueryParam(k, reflect.ValueOf(vs))
	}
	for k := range req.Header {
		b.AddHeaderParam(k, req.Header.Get(k))
	}
	b.AddHeaderParam("Host", req.URL.Host)
	b.AddHeaderParam(signer.HeaderXDate, at.UTC().Format(signer.BasicDateFormat))
	add, err := signer.Signer{}.Sign(b.Build(), ak, sk)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range add {
		req.Header.Set(k, v)
	}
}

type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a apiResp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("decode %s: %v", a.Body, err)
	}
}

// errBody checks the documented error shape and returns it.
func (a apiResp) errBody(t testing.TB, status int, code string) elb.APIError {
	t.Helper()
	if a.Status != status {
		t.Fatalf("status %d, want %d; body %s", a.Status, status, a.Body)
	}
	var e elb.APIError
	a.decode(t, &e)
	if e.Code != code || e.Message == "" || e.RequestID == "" {
		t.Fatalf("error body %s: want error_code %q and non-empty error_msg, request_id", a.Body, code)
	}
	return e
}

// call sends one request straight to the handler with the test token.
func call(t testing.TB, h http.Handler, method, path string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = bytes.NewBufferString(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("X-Auth-Token", testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return apiResp{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func newTestEmulator(o Options) *Emulator {
	if o.ProjectID == "" {
		o.ProjectID = testProject
	}
	if o.Token == "" && o.AccessKey == "" {
		o.Token = testToken
	}
	return New(o)
}

func poolPath(poolID, rest string) string {
	return "/v3/" + testProject + "/elb/pools/" + poolID + rest
}

// seed adds n members 10.x.y.z:8080 directly.
func seed(t testing.TB, e *Emulator, poolID string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		if _, err := e.AddMemberDirect(poolID, elb.Member{Address: addr, ProtocolPort: 8080}); err != nil {
			t.Fatal(err)
		}
	}
}

type listAnswer struct {
	RequestID string `json:"request_id"`
	PageInfo  struct {
		PreviousMarker string  `json:"previous_marker"`
		NextMarker     *string `json:"next_marker"`
		CurrentCount   int     `json:"current_count"`
	} `json:"page_info"`
	Members []elb.Member `json:"members"`
}

type batchAnswer struct {
	RequestID string            `json:"request_id"`
	Members   []elb.BatchResult `json:"members"`
}

func newMembers(from, n int, port int32) []elb.NewMember {
	out := make([]elb.NewMember, n)
	for i := range out {
		j := from + i
		out[i] = elb.NewMember{Address: fmt.Sprintf("192.168.%d.%d", j>>8&255, j&255), ProtocolPort: port}
	}
	return out
}
