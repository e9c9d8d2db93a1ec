package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// Token is an IAM token and what IAM said about it.
type Token struct {
	Value     string
	ExpiresAt time.Time
	ProjectID string
}

type passwordAuthBody struct {
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
			Project projectRef `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type projectRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type tokenResponse struct {
	Token struct {
		ExpiresAt string     `json:"expires_at"`
		Project   projectRef `json:"project"`
	} `json:"token"`
}

// requestPasswordToken runs IAM's password flow (POST /v3/auth/tokens,
// project scope) and returns the token from the X-Subject-Token header.
func requestPasswordToken(ctx context.Context, hc *http.Client, c Config) (Token, error) {
	var body passwordAuthBody
	body.Auth.Identity.Methods = []string{"password"}
	body.Auth.Identity.Password.User.Name = c.Username
	body.Auth.Identity.Password.User.Password = c.Password
	body.Auth.Identity.Password.User.Domain.Name = c.DomainName
	if c.ProjectID != "" {
		body.Auth.Scope.Project.ID = c.ProjectID
	} else {
		body.Auth.Scope.Project.Name = c.ProjectName
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Token{}, errf("encoding IAM request: %v", err)
	}
	endpoint := c.IAMEndpoint + "/v3/auth/tokens?nocatalog=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return Token{}, errf("building IAM request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, errf("requesting a token from %s: %v", c.IAMEndpoint, redact.Error(err))
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return Token{}, errf("IAM %s rejected the password login of user %q in domain %q: %s",
			c.IAMEndpoint, c.Username, c.DomainName, iamErrorMessage(resp.StatusCode, respBody))
	}
	tok := resp.Header.Get(HeaderSubjectToken)
	if tok == "" {
		return Token{}, errf("IAM %s answered %d without an %s header", c.IAMEndpoint, resp.StatusCode, HeaderSubjectToken)
	}
	redact.Register(tok)
	var tr tokenResponse
	if err := json.Unmarshal(respBody, &tr); err != nil {
		return Token{}, errf("decoding IAM token response: %v", err)
	}
	exp, err := time.Parse(time.RFC3339Nano, tr.Token.ExpiresAt)
	if err != nil {
		return Token{}, errf("IAM token response has no valid token.expires_at (%q)", tr.Token.ExpiresAt)
	}
	return Token{Value: tok, ExpiresAt: exp, ProjectID: tr.Token.Project.ID}, nil
}

// iamErrorMessage shortens an IAM/APIG error body to something printable.
func iamErrorMessage(code int, body []byte) string {
	var e struct {
		Error struct {
			Code    any    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		ErrorCode string `json:"error_code"`
		ErrorMsg  string `json:"error_msg"`
		Message   string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error.Message != "":
			msg = e.Error.Message
		case e.ErrorMsg != "":
			msg = e.ErrorCode + " " + e.ErrorMsg
		case e.Message != "":
			msg = e.Message
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	return redact.String(fmt.Sprintf("HTTP %d %s", code, strings.TrimSpace(msg)))
}

// lookupProjectID asks IAM (GET /v3/projects?name=NAME) for the id of the
// project, authenticating the call with authorize.
func lookupProjectID(ctx context.Context, hc *http.Client, endpoint, name string, authorize func(*http.Request) error) (string, error) {
	u := endpoint + "/v3/projects?name=" + url.QueryEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", errf("building IAM project request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := authorize(req); err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", errf("looking up project %q at %s: %v", name, endpoint, redact.Error(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return "", errf("looking up project %q at %s: %s", name, endpoint, iamErrorMessage(resp.StatusCode, body))
	}
	var pr struct {
		Projects []projectRef `json:"projects"`
	}
	if err := json.Unmarshal(body, &pr); err != nil {
		return "", errf("decoding IAM project list: %v", err)
	}
	switch len(pr.Projects) {
	case 0:
		return "", errf("IAM knows no project named %q (set project-name or project-id)", name)
	case 1:
		if pr.Projects[0].ID == "" {
			return "", errf("IAM returned project %q without an id", name)
		}
		return pr.Projects[0].ID, nil
	default:
		return "", errf("IAM returned %d projects named %q; set project-id", len(pr.Projects), name)
	}
}
