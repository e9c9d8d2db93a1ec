package auth

import (
	"context"
	"io"
	"net/http"
	"sync"

	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// Credentials authenticate HTTP requests to CCI (and other Huawei Cloud
// APIs such as ELB) in one of the three Modes. They are safe for concurrent
// use and implement client-go's rest.AuthProvider.
type Credentials struct {
	cfg    Config
	opts   Options
	tokens TokenSource // token and password modes

	projMu    sync.Mutex
	projectID string
}

// NewCredentials checks cfg and returns its Credentials. The secrets in cfg
// are registered with package redact.
func NewCredentials(cfg Config, opts Options) (*Credentials, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	for _, s := range []string{cfg.AK, cfg.SK, cfg.Token, cfg.Password} {
		redact.Register(s)
	}
	c := &Credentials{cfg: cfg, opts: opts, projectID: cfg.ProjectID}
	if cfg.Mode != ModeAKSK {
		ts, err := NewTokenSource(cfg, opts)
		if err != nil {
			return nil, err
		}
		c.tokens = ts
	}
	return c, nil
}

// CredentialsFromProviderConfig builds Credentials from an iam auth-provider
// config map (see the Key* constants), with the HW_* environment fallbacks.
func CredentialsFromProviderConfig(cfg map[string]string, opts Options) (*Credentials, error) {
	c, err := ConfigFromProvider(cfg, "", opts)
	if err != nil {
		return nil, err
	}
	return NewCredentials(c, opts)
}

// Mode reports how requests are authenticated.
func (c *Credentials) Mode() Mode { return c.cfg.Mode }

// IAMEndpoint is the IAM base URL in use (may be empty in token mode).
func (c *Credentials) IAMEndpoint() string { return c.cfg.IAMEndpoint }

// ProjectName is the project (region) the credentials are scoped to.
func (c *Credentials) ProjectName() string { return c.cfg.ProjectName }

// ProjectID returns the project id: configured, from the password login's
// token, or looked up once in IAM by project name (and cached on disk).
func (c *Credentials) ProjectID(ctx context.Context) (string, error) {
	c.projMu.Lock()
	if c.projectID != "" {
		defer c.projMu.Unlock()
		return c.projectID, nil
	}
	c.projMu.Unlock()

	if c.cfg.Mode == ModePassword {
		t, err := c.tokens.Token(ctx)
		if err != nil {
			return "", err
		}
		if t.ProjectID != "" {
			c.setProjectID(t.ProjectID)
			return t.ProjectID, nil
		}
	}
	if c.cfg.IAMEndpoint == "" || c.cfg.ProjectName == "" {
		return "", errf("project id unknown: set project-id, or project-name and iam-endpoint")
	}

	c.projMu.Lock()
	defer c.projMu.Unlock()
	if c.projectID != "" { // resolved meanwhile
		return c.projectID, nil
	}
	path := projectCachePath(c.opts.CacheDir, c.cfg)
	if c.cfg.Cache && c.cfg.Mode == ModeAKSK {
		var f struct {
			ProjectID string `json:"projectID"`
		}
		if readJSONFile(path, &f) == nil && f.ProjectID != "" {
			c.projectID = f.ProjectID
			return f.ProjectID, nil
		}
	}
	id, err := lookupProjectID(ctx, c.opts.HTTPClient, c.cfg.IAMEndpoint, c.cfg.ProjectName, func(r *http.Request) error {
		if c.cfg.Mode == ModeAKSK {
			return SignRequest(r, c.cfg.AK, c.cfg.SK, "")
		}
		t, err := c.tokens.Token(r.Context())
		if err != nil {
			return err
		}
		r.Header.Set(HeaderAuthToken, t.Value)
		return nil
	})
	if err != nil {
		return "", err
	}
	c.projectID = id
	if c.cfg.Cache && c.cfg.Mode == ModeAKSK {
		_ = writePrivateFile(path, map[string]string{"projectID": id})
	}
	return id, nil
}

func (c *Credentials) setProjectID(id string) {
	c.projMu.Lock()
	defer c.projMu.Unlock()
	if c.projectID == "" {
		c.projectID = id
	}
}

// Authorize adds the authentication headers to req in place (X-Auth-Token,
// or X-Project-Id + AK/SK signature) and returns the token it used, if any.
func (c *Credentials) Authorize(req *http.Request) (usedToken string, err error) {
	ctx := req.Context()
	if c.cfg.Mode == ModeAKSK {
		pid, err := c.ProjectID(ctx)
		if err != nil {
			return "", err
		}
		return "", SignRequest(req, c.cfg.AK, c.cfg.SK, pid)
	}
	t, err := c.tokens.Token(ctx)
	if err != nil {
		return "", err
	}
	req.Header.Set(HeaderAuthToken, t.Value)
	if c.cfg.ProjectID != "" {
		req.Header.Set(HeaderProjectID, c.cfg.ProjectID)
	}
	return t.Value, nil
}

// WrapTransport returns a RoundTripper that authenticates every request
// before handing it to rt. With a password login, a 401 answer makes it drop
// the token, log in again and retry the request once (if its body can be
// replayed).
func (c *Credentials) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &authTransport{creds: c, next: rt}
}

// Login is part of rest.AuthProvider; tokens are obtained lazily, so there is
// nothing to do ahead of the first request.
func (c *Credentials) Login() error { return nil }

type authTransport struct {
	creds *Credentials
	next  http.RoundTripper
}

var _ utilnet.RoundTripperWrapper = (*authTransport)(nil)

func (t *authTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// RoundTrippers must not modify the caller's request.
	r := req.Clone(req.Context())
	used, err := t.creds.Authorize(r)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || t.creds.cfg.Mode != ModePassword {
		return resp, err
	}
	if !replayable(req) || !t.creds.tokens.Invalidate(used) {
		return resp, nil
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	if _, err := t.creds.Authorize(retry); err != nil {
		closeBody(retry)
		return resp, nil // keep the server's 401; the login error would hide it
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return t.next.RoundTrip(retry)
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// ForProject returns credentials of the same identity scoped to another
// project: IAM projects are per region, so a pool in another region is in
// another project. id may be empty; it is then looked up in IAM by name
// (and cached per project name, as for the first project). A given IAM
// token was issued for one project and cannot be scoped to another.
func (c *Credentials) ForProject(name, id string) (*Credentials, error) {
	if c.cfg.Mode == ModeToken {
		return nil, errf("an IAM token is scoped to the one project it was issued for; project %q needs AK/SK or a user name and password", name)
	}
	cfg := c.cfg
	cfg.ProjectName, cfg.ProjectID = name, id
	if cfg.IAMEndpoint == "" && id == "" {
		// IAM answers for the whole account at any region's endpoint.
		cfg.IAMEndpoint = "https://iam." + ProjectRegion(name) + ".myhuaweicloud.com"
	}
	return NewCredentials(cfg, c.opts)
}
