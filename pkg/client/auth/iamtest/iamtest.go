// Package iamtest is a test double of Huawei Cloud's IAM token API and of the
// API gateway (APIG) that authenticates requests to CCI 2.0. It is for tests
// only: tokens are random strings kept in memory, and nothing about it is
// hardened.
//
// Server serves, on loopback, the documented shapes of
//
//   - POST /v3/auth/tokens (password method, project scope): 201 with the
//     token in the X-Subject-Token header and {"token":{"expires_at",
//     "project":{"id","name"},...}} in the body; 401 for a wrong password;
//   - GET /v3/projects?name=NAME, authenticated with X-Auth-Token or an AK/SK
//     (SDK-HMAC-SHA256) signature: {"projects":[{"id","name",...}]}.
//
// NewGatewayProxy plays the gateway: in front of a real kube-apiserver it
// accepts a request carrying a token the Server issued or a valid, fresh
// AK/SK signature (recomputed with the official SDK signer), answers anything
// else with a CCI-shaped 401 Status, and forwards accepted requests with the
// CCI headers removed and Authorization: Bearer <bearer> instead.
package iamtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// User is an IAM user with its project and (optionally) an access key.
type User struct {
	Domain      string // account (domain) name
	Name        string
	Password    string
	ProjectName string // e.g. the region, cn-north-4
	ProjectID   string
	AK, SK      string
}

// Calls counts what the Server has been asked.
type Calls struct {
	TokensIssued   int // successful POST /v3/auth/tokens
	TokensRefused  int // POST /v3/auth/tokens answered 4xx
	ProjectLookups int // GET /v3/projects answered 200
	VerifiedToken  int // requests accepted by X-Auth-Token
	VerifiedAKSK   int // requests accepted by AK/SK signature
	Rejected       int // requests refused by VerifyRequest
}

// DefaultTokenTTL is IAM's token validity.
const DefaultTokenTTL = 24 * time.Hour

// MaxClockSkew is how far X-Sdk-Date may be from the server's clock.
const MaxClockSkew = 15 * time.Minute

// Server is a local IAM endpoint. Use New; Close it when done.
type Server struct {
	// URL is the IAM endpoint (http://127.0.0.1:PORT) for iam-endpoint.
	URL string

	srv   *httptest.Server
	users []User

	mu     sync.Mutex
	ttl    time.Duration
	tokens map[string]issued
	calls  Calls
}

type issued struct {
	user    User
	expires time.Time
}

// New starts a Server that knows users.
func New(users ...User) *Server {
	s := &Server{users: users, ttl: DefaultTokenTTL, tokens: map[string]issued{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", s.handleTokens)
	mux.HandleFunc("GET /v3/projects", s.handleProjects)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Calls returns the counters so far.
func (s *Server) Calls() Calls {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// SetTokenTTL sets the validity of tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// IssueToken issues a token for u directly (as if u had logged in), for tests
// of the given-token mode.
func (s *Server) IssueToken(u User) string {
	tok, _ := s.issue(u)
	return tok
}

// RevokeTokens invalidates every token issued so far (IAM does this when a
// password or permission changes).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]issued{}
}

func (s *Server) issue(u User) (string, time.Time) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "MIIt" + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	exp := time.Now().Add(s.ttl).UTC()
	s.tokens[tok] = issued{user: u, expires: exp}
	return tok, exp
}

func (s *Server) count(f func(*Calls)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.calls)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func iamError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "title": http.StatusText(code),
	}})
}

func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	refuse := func(code int, msg string) {
		s.count(func(c *Calls) { c.TokensRefused++ })
		iamError(w, code, msg)
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		refuse(http.StatusBadRequest, "The request body is invalid.")
		return
	}
	id := body.Auth.Identity
	if len(id.Methods) != 1 || id.Methods[0] != "password" {
		refuse(http.StatusBadRequest, "Only the password method is supported by this test double.")
		return
	}
	pu := id.Password.User
	var user *User
	for i := range s.users {
		u := &s.users[i]
		if u.Domain == pu.Domain.Name && u.Name == pu.Name && u.Password != "" &&
			hmac.Equal([]byte(u.Password), []byte(pu.Password)) {
			user = u
		}
	}
	if user == nil {
		refuse(http.StatusUnauthorized, "The username or password is wrong.")
		return
	}
	sc := body.Auth.Scope.Project
	if (sc.ID == "" && sc.Name == "") || (sc.ID != "" && sc.ID != user.ProjectID) || (sc.Name != "" && sc.Name != user.ProjectName) {
		refuse(http.StatusUnauthorized, "The project in the scope is not accessible.")
		return
	}
	tok, exp := s.issue(*user)
	s.count(func(c *Calls) { c.TokensIssued++ })
	w.Header().Set("X-Subject-Token", tok)
	domain := map[string]string{"id": "d-" + user.Domain, "name": user.Domain}
	writeJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"expires_at": exp.Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": "u-" + user.Name, "name": user.Name, "domain": domain},
		"project":    map[string]any{"id": user.ProjectID, "name": user.ProjectName, "domain": domain},
		"roles":      []map[string]string{{"id": "r-1", "name": "te_admin"}},
	}})
}

func (s *Server) handleProjects(w http.ResponseWriter, r *http.Request) {
	u, err := s.VerifyRequest(r)
	if err != nil {
		iamError(w, http.StatusUnauthorized, err.Error())
		return
	}
	name := r.URL.Query().Get("name")
	seen := map[string]bool{}
	projects := []map[string]any{}
	for _, o := range s.users {
		if o.Domain != u.Domain || o.ProjectID == "" || seen[o.ProjectID] || (name != "" && o.ProjectName != name) {
			continue
		}
		seen[o.ProjectID] = true
		projects = append(projects, map[string]any{
			"id": o.ProjectID, "name": o.ProjectName, "domain_id": "d-" + o.Domain, "enabled": true,
		})
	}
	s.count(func(c *Calls) { c.ProjectLookups++ })
	writeJSON(w, http.StatusOK, map[string]any{"projects": projects, "links": map[string]any{"self": s.URL + r.URL.RequestURI()}})
}

// Verifier authenticates a request the way the API gateway does.
type Verifier interface {
	// VerifyRequest returns the user a request authenticates as. It may read
	// the body and must leave a readable copy in r.Body.
	VerifyRequest(r *http.Request) (User, error)
}

var _ Verifier = (*Server)(nil)

// VerifyRequest accepts a request with an unexpired X-Auth-Token issued by s,
// or with a valid SDK-HMAC-SHA256 signature by a known AK whose X-Sdk-Date is
// within MaxClockSkew.
func (s *Server) VerifyRequest(r *http.Request) (User, error) {
	u, method, err := s.verify(r)
	s.count(func(c *Calls) {
		switch {
		case err != nil:
			c.Rejected++
		case method == "token":
			c.VerifiedToken++
		default:
			c.VerifiedAKSK++
		}
	})
	return u, err
}

func (s *Server) verify(r *http.Request) (User, string, error) {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		s.mu.Lock()
		is, ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			return User{}, "", errors.New("the token is invalid")
		}
		if time.Now().After(is.expires) {
			return User{}, "", errors.New("the token must be updated")
		}
		return is.user, "token", nil
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "SDK-HMAC-SHA256 ") {
		return User{}, "", errors.New("no X-Auth-Token and no SDK-HMAC-SHA256 signature")
	}
	u, err := s.verifySignature(r, auth)
	return u, "aksk", err
}

// verifySignature recomputes the signature from the server's view of the
// request (method, path, query, the headers listed in SignedHeaders, body)
// with the SDK signer and compares it to the one received.
func (s *Server) verifySignature(r *http.Request, auth string) (User, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, "SDK-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	ak, signed := fields["Access"], fields["SignedHeaders"]
	if ak == "" || signed == "" || fields["Signature"] == "" {
		return User{}, errors.New("malformed SDK-HMAC-SHA256 Authorization header")
	}
	var user *User
	for i := range s.users {
		if s.users[i].AK != "" && s.users[i].AK == ak {
			user = &s.users[i]
		}
	}
	if user == nil {
		return User{}, errors.New("unknown access key")
	}
	names := strings.Split(signed, ";")
	hasDate := false
	for _, n := range names {
		hasDate = hasDate || n == "x-sdk-date"
	}
	if !hasDate {
		return User{}, errors.New("x-sdk-date is not signed")
	}
	date, err := time.Parse(signer.BasicDateFormat, r.Header.Get("X-Sdk-Date"))
	if err != nil {
		return User{}, errors.New("missing or malformed X-Sdk-Date")
	}
	if d := time.Since(date); d > MaxClockSkew || d < -MaxClockSkew {
		return User{}, fmt.Errorf("X-Sdk-Date is %s away from the server clock", d.Round(time.Second))
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		return User{}, errors.New("reading body")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	b := request.NewHttpRequestBuilder().
		WithEndpoint("http://" + r.Host).
		WithPath(r.URL.Path).
		WithMethod(r.Method)
	for _, n := range names {
		key := http.CanonicalHeaderKey(n)
		v := r.Header.Get(key)
		if n == "host" {
			v = r.Host
		}
		b.AddHeaderParam(key, v)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		b.AddHeaderParam("Content-Type", ct)
	}
	for k, vs := range r.URL.Query() {
		if len(vs) == 1 {
			b.AddQueryParam(k, reflect.ValueOf(vs[0]))
		} else {
			b.AddQueryParam(k, reflect.ValueOf(vs))
		}
	}
	if len(body) > 0 {
		b.WithBody("", string(body))
	}
	want, err := signer.Signer{}.Sign(b.Build(), user.AK, user.SK)
	if err != nil {
		return User{}, fmt.Errorf("recomputing signature: %v", err)
	}
	if !hmac.Equal([]byte(want["Authorization"]), []byte(auth)) {
		return User{}, errors.New("the signature does not match")
	}
	return *user, nil
}

// IssuedTokens returns the tokens currently valid, for tests that check a
// token never shows up somewhere.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}
