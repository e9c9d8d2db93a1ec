package iamtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/client/auth/iamtest"
)

var bob = iamtest.User{Domain: "d", Name: "bob", Password: "pw", ProjectName: "cn-north-4", ProjectID: "p1", AK: "AKB", SK: "SKB"}

func TestTokenEndpoint(t *testing.T) {
	s := iamtest.New(bob)
	defer s.Close()
	login := func(pw string) *http.Response {
		body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"bob","password":"` + pw +
			`","domain":{"name":"d"}}}},"scope":{"project":{"name":"cn-north-4"}}}}`
		resp, err := http.Post(s.URL+"/v3/auth/tokens", "application/json;charset=utf8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := login("pw")
	var out struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
			Project   struct{ ID, Name string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Subject-Token") == "" || out.Token.Project.ID != "p1" {
		t.Fatalf("login: %d %v %+v", resp.StatusCode, resp.Header, out)
	}
	if exp, err := time.Parse(time.RFC3339Nano, out.Token.ExpiresAt); err != nil || time.Until(exp) < 23*time.Hour {
		t.Fatalf("expires_at %q: %v", out.Token.ExpiresAt, err)
	}
	resp = login("wrong")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if c := s.Calls(); c.TokensIssued != 1 || c.TokensRefused != 1 {
		t.Fatalf("calls = %+v", c)
	}
}

type seen struct{ header http.Header }

func (s *seen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.header = r.Header.Clone()
	_, _ = io.WriteString(w, "ok")
}

func TestGatewayProxy(t *testing.T) {
	s := iamtest.New(bob)
	defer s.Close()
	up := &seen{}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	u, _ := url.Parse(upSrv.URL)
	gw := httptest.NewServer(iamtest.NewGatewayProxy(u, nil, "BEARER", s))
	defer gw.Close()

	signed := func(body string, mutate func(*http.Request)) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/namespaces?x=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := auth.SignRequest(req, bob.AK, bob.SK, bob.ProjectID); err != nil {
			t.Fatal(err)
		}
		if mutate != nil {
			mutate(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := signed(`{"a":1}`, nil)
	resp.Body.Close()
	if resp.StatusCode != 200 || up.header.Get("Authorization") != "Bearer BEARER" ||
		up.header.Get("X-Sdk-Date") != "" || up.header.Get("X-Project-Id") != "" {
		t.Fatalf("accepted request: %d, upstream saw %v", resp.StatusCode, up.header)
	}

	rejects := map[string]func(*http.Request){
		"tampered body": func(r *http.Request) {
			r.Body = io.NopCloser(bytes.NewReader([]byte(`{"a":2}`)))
			r.GetBody = nil
		},
		"tampered query": func(r *http.Request) { r.URL.RawQuery = "x=2" },
		// Freshness is checked before the signature (message asserted below).
		"stale date": func(r *http.Request) {
			r.Header.Set("X-Sdk-Date", time.Now().Add(-20*time.Minute).UTC().Format("20060102T150405Z"))
		},
		"no auth": func(r *http.Request) { r.Header.Del("Authorization") },
	}
	for name, mutate := range rejects {
		resp := signed(`{"a":1}`, mutate)
		var st struct {
			Kind, Status, Reason, ErrorCode, Message string
			Code                                     int
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != 401 || st.Kind != "Status" || st.Reason != "Unauthorized" || st.Code != 401 || st.ErrorCode != "APIGW.0301" {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, st)
		}
		if name == "stale date" && !strings.Contains(st.Message, "X-Sdk-Date is 20m") {
			t.Errorf("stale date: message %q", st.Message)
		}
	}

	// An issued token is accepted; a made-up one is not.
	for tok, want := range map[string]int{s.IssueToken(bob): 200, "MIIbogus": 401} {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/x", nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", tok[:6], resp.StatusCode, want)
		}
	}
	if c := s.Calls(); c.VerifiedAKSK != 1 || c.VerifiedToken != 1 || c.Rejected != 5 {
		t.Fatalf("calls = %+v", c)
	}
}
