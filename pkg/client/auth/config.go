// Package auth implements the ways the vendor's ccictl authenticates to Huawei
// Cloud CCI 2.0, as a client-go "iam" auth-provider plugin and as plain
// building blocks (Credentials, TokenSource) that other HTTP clients (ELB) can
// reuse:
//
//   - ak + sk: every request is signed with SDK-HMAC-SHA256 (the signer of the
//     official huaweicloud-sdk-go-v3 core) and carries X-Project-Id;
//   - token: a given IAM token is sent as X-Auth-Token;
//   - username + password: a project-scoped token is obtained from IAM
//     POST /v3/auth/tokens, cached on disk (0600) until shortly before it
//     expires, and sent as X-Auth-Token.
//
// Every secret the package handles is registered with package redact, and
// Register installs redact's klog filter, so no secret reaches -v=9 logs.
// Error messages name what is missing or wrong, never a secret value.
package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Keys of the iam auth-provider config, as the vendor's ccictl writes them
// with `ccictl config set-credentials --auth-provider=iam --auth-provider-arg=KEY=VALUE`.
const (
	KeyIAMEndpoint = "iam-endpoint"
	KeyProjectName = "project-name"
	KeyProjectID   = "project-id"
	KeyDomainName  = "domain-name"
	KeyAK          = "ak"
	KeySK          = "sk"
	KeyToken       = "token"
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyCache       = "cache"
)

// Environment variables read (as the vendor's tools do) when the provider
// config leaves the matching value empty.
const (
	EnvAccessKey  = "HW_ACCESS_KEY"
	EnvSecretKey  = "HW_SECRET_KEY"
	EnvProjectID  = "HW_PROJECT_ID"
	EnvRegionName = "HW_REGION_NAME"
)

// Mode is how requests are authenticated.
type Mode int

const (
	// ModeAKSK signs every request with an access key / secret key pair.
	ModeAKSK Mode = iota + 1
	// ModeToken sends a given IAM token as X-Auth-Token.
	ModeToken
	// ModePassword obtains an IAM token with user name and password.
	ModePassword
)

func (m Mode) String() string {
	switch m {
	case ModeAKSK:
		return "aksk"
	case ModeToken:
		return "token"
	case ModePassword:
		return "password"
	}
	return "unknown"
}

// Config is a resolved credential configuration.
type Config struct {
	Mode Mode

	// IAMEndpoint is the base URL of IAM, e.g. https://iam.cn-north-4.myhuaweicloud.com.
	IAMEndpoint string
	// ProjectName scopes tokens and is looked up to find ProjectID; it
	// defaults to the region name.
	ProjectName string
	// ProjectID, when set, skips the IAM project lookup.
	ProjectID  string
	DomainName string

	AK, SK             string
	Token              string
	Username, Password string

	// Cache enables the on-disk token and project-id cache (provider key
	// cache, default true).
	Cache bool
}

// Options are process-wide settings of the plugin.
type Options struct {
	// CacheDir holds cached IAM tokens and project ids; default
	// $HOME/.kubev2/cache, like the vendor's --cache-dir.
	CacheDir string
	// HTTPClient is used for IAM calls; default: a client with a 30s timeout
	// and verified TLS.
	HTTPClient *http.Client
	// Getenv reads environment fallbacks; default os.Getenv.
	Getenv func(string) string
	// Now is the clock; default time.Now. Tests move it to expire tokens.
	Now func() time.Time
}

// DefaultCacheDir is $HOME/.kubev2/cache (the vendor's --cache-dir default).
func DefaultCacheDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.Getenv("HOME")
	}
	return filepath.Join(home, ".kubev2", "cache")
}

func (o Options) withDefaults() Options {
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func errf(format string, args ...any) error {
	return fmt.Errorf("iam auth-provider: "+format, args...)
}

// ConfigFromProvider resolves an iam auth-provider config map (plus the
// environment fallbacks) into a Config and checks it is complete.
// clusterAddress (may be empty) helps derive the region when nothing else names it.
func ConfigFromProvider(cfg map[string]string, clusterAddress string, opts Options) (Config, error) {
	opts = opts.withDefaults()
	get := func(k string) string { return strings.TrimSpace(cfg[k]) }
	c := Config{
		IAMEndpoint: strings.TrimRight(get(KeyIAMEndpoint), "/"),
		ProjectName: get(KeyProjectName),
		ProjectID:   get(KeyProjectID),
		DomainName:  get(KeyDomainName),
		AK:          get(KeyAK),
		SK:          cfg[KeySK],
		Token:       get(KeyToken),
		Username:    get(KeyUsername),
		Password:    cfg[KeyPassword],
		Cache:       true,
	}
	if v := get(KeyCache); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, errf("cache must be true or false, got %q", v)
		}
		c.Cache = b
	}

	hasToken := c.Token != ""
	hasUser := c.Username != "" || c.Password != ""
	hasKeys := c.AK != "" || c.SK != ""
	n := 0
	for _, b := range []bool{hasToken, hasUser, hasKeys} {
		if b {
			n++
		}
	}
	if n > 1 {
		return Config{}, errf("set only one of token, username/password or ak/sk")
	}
	switch {
	case hasToken:
		c.Mode = ModeToken
	case hasUser:
		c.Mode = ModePassword
	default:
		// AK/SK, from the config or else from the environment, field by field.
		c.Mode = ModeAKSK
		if c.AK == "" {
			c.AK = strings.TrimSpace(opts.Getenv(EnvAccessKey))
		}
		if c.SK == "" {
			c.SK = opts.Getenv(EnvSecretKey)
		}
	}
	if c.ProjectID == "" {
		c.ProjectID = strings.TrimSpace(opts.Getenv(EnvProjectID))
	}
	if c.ProjectName == "" {
		// The vendor's project-name defaults to the region name. IAM asks
		// the region rule only when project-name is not configured: the
		// configured project is the one the credentials are scoped to, so
		// here it comes before HW_REGION_NAME (the ELB rule, Region with
		// --region, puts the environment first; see elbconfig.OwnRegion).
		c.ProjectName = Region(RegionSources{IAMEndpoint: c.IAMEndpoint, ClusterAddress: clusterAddress, Getenv: opts.Getenv})
	}
	if c.IAMEndpoint == "" && c.ProjectName != "" {
		// Sub-projects are named REGION_NAME; the endpoint is the region's.
		c.IAMEndpoint = "https://iam." + ProjectRegion(c.ProjectName) + ".myhuaweicloud.com"
	}
	return c, c.Validate()
}

// Validate reports the first missing or malformed setting, by name.
func (c Config) Validate() error {
	checkEndpoint := func() error {
		if c.IAMEndpoint == "" {
			return errf("iam-endpoint is empty and no region is known to derive it (set iam-endpoint or project-name)")
		}
		u, err := url.Parse(c.IAMEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errf("iam-endpoint %q is not an http(s) URL", c.IAMEndpoint)
		}
		return nil
	}
	switch c.Mode {
	case ModeToken:
		if c.Token == "" {
			return errf("token is empty")
		}
	case ModePassword:
		switch {
		case c.Username == "":
			return errf("password is set but username is empty")
		case c.Password == "":
			return errf("username is set but password is empty")
		case c.DomainName == "":
			return errf("username/password needs domain-name (the account name)")
		case c.ProjectName == "" && c.ProjectID == "":
			return errf("username/password needs project-name or project-id")
		}
		return checkEndpoint()
	case ModeAKSK:
		switch {
		case c.AK == "" && c.SK == "":
			return errf("no credentials: set ak/sk, token or username/password (or %s/%s)", EnvAccessKey, EnvSecretKey)
		case c.SK == "":
			return errf("ak is set but sk is empty")
		case c.AK == "":
			return errf("sk is set but ak is empty")
		}
		if c.ProjectID == "" {
			if c.ProjectName == "" {
				return errf("ak/sk needs project-id or project-name to find the project")
			}
			return checkEndpoint()
		}
	default:
		return errf("no authentication mode")
	}
	return nil
}
