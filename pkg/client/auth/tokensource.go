package auth

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// RefreshBefore is how long before its expiry a token is replaced.
const RefreshBefore = 5 * time.Minute

// TokenSource hands out IAM tokens.
type TokenSource interface {
	// Token returns a token that is valid for at least RefreshBefore (as far
	// as the source knows).
	Token(ctx context.Context) (Token, error)
	// Invalidate tells the source the server rejected tok. It returns true
	// when a later Token call can get a different one.
	Invalidate(tok string) bool
}

// NewTokenSource returns the token source of a token or password Config: a
// fixed token, or IAM's password flow with the on-disk cache (unless
// cfg.Cache is false) under opts.CacheDir.
func NewTokenSource(cfg Config, opts Options) (TokenSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	switch cfg.Mode {
	case ModeToken:
		redact.Register(cfg.Token)
		return staticSource{Token{Value: cfg.Token, ProjectID: cfg.ProjectID}}, nil
	case ModePassword:
		redact.Register(cfg.Password)
		return &passwordSource{cfg: cfg, hc: opts.HTTPClient, now: opts.Now, cacheDir: opts.CacheDir}, nil
	}
	return nil, errf("%s credentials do not use tokens", cfg.Mode)
}

type staticSource struct{ tok Token }

func (s staticSource) Token(context.Context) (Token, error) { return s.tok, nil }
func (s staticSource) Invalidate(string) bool               { return false }

type passwordSource struct {
	cfg      Config
	hc       *http.Client
	now      func() time.Time
	cacheDir string

	mu  sync.Mutex
	cur Token
}

func (s *passwordSource) fresh(t Token) bool {
	return t.Value != "" && s.now().Add(RefreshBefore).Before(t.ExpiresAt)
}

func (s *passwordSource) Token(ctx context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fresh(s.cur) {
		return s.cur, nil
	}
	path := TokenCachePath(s.cacheDir, s.cfg)
	if s.cfg.Cache {
		var f tokenCacheFile
		if readJSONFile(path, &f) == nil && f.IAMEndpoint == s.cfg.IAMEndpoint && f.Domain == s.cfg.DomainName &&
			f.User == s.cfg.Username && f.Project == s.cfg.ProjectName+"/"+s.cfg.ProjectID {
			t := Token{Value: f.Token, ExpiresAt: f.ExpiresAt, ProjectID: f.ProjectID}
			if s.fresh(t) {
				redact.Register(t.Value)
				s.cur = t
				return t, nil
			}
		}
	}
	t, err := requestPasswordToken(ctx, s.hc, s.cfg)
	if err != nil {
		return Token{}, err
	}
	s.cur = t
	if s.cfg.Cache {
		// A cache that cannot be written costs a login next time, nothing more.
		_ = writePrivateFile(path, tokenCacheFile{
			IAMEndpoint: s.cfg.IAMEndpoint, Domain: s.cfg.DomainName, User: s.cfg.Username,
			Project: s.cfg.ProjectName + "/" + s.cfg.ProjectID,
			Token:   t.Value, ExpiresAt: t.ExpiresAt, ProjectID: t.ProjectID,
		})
	}
	return t, nil
}

func (s *passwordSource) Invalidate(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Value == tok {
		s.cur = Token{}
	}
	if s.cfg.Cache {
		path := TokenCachePath(s.cacheDir, s.cfg)
		var f tokenCacheFile
		if readJSONFile(path, &f) == nil && f.Token == tok {
			removeIfExists(path)
		}
	}
	return true
}
