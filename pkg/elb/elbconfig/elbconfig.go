// Package elbconfig builds the ELB v3 clients of a sync pass from the same
// identity as the CCI API, without any command-line machinery: the one-shot
// `ccictl sync` fills Options from its flags, and a controller can fill it
// from its own configuration.
package elbconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/version"
)

// Options say where the ELB API is and who calls it.
type Options struct {
	// ProjectID, Region and Endpoint are the pass's own project, region
	// and endpoint (--project-id, --region, --elb-endpoint). Unset, they
	// come from HW_PROJECT_ID (else IAM), HW_REGION_NAME (else the
	// credentials' project name) and the region's public endpoint.
	ProjectID string
	Region    string
	Endpoint  string
	// Endpoints and ProjectIDs are per-region overrides for pools in
	// another region (--elb-endpoints, --elb-project-ids).
	Endpoints  map[string]string
	ProjectIDs map[string]string
	// Concurrency is how many bindings are in flight at once: the client
	// keeps that many idle connections per host.
	Concurrency int
	// RequestTimeout bounds one attempt of an ELB call (0 = no bound).
	RequestTimeout time.Duration
	// Retry bounds the retries inside one call (zero fields: elb's
	// defaults); the watch controller retries through its queue instead.
	Retry elb.RetryPolicy
	// CacheDir is where IAM tokens are cached.
	CacheDir string
	// IAMProvider is the config of the current user's iam auth-provider
	// block, nil without one.
	IAMProvider map[string]string
	// ClusterAddress is the API server's address: where nothing else
	// names the pass's region, its host does (CCI 2.0), as for the
	// credentials of the API server itself.
	ClusterAddress string
	// Token is a fixed IAM token (CCICTL_ELB_TOKEN), used when neither the
	// auth-provider nor HW_ACCESS_KEY/HW_SECRET_KEY give credentials.
	Token string
	// WrapTransport, if set, wraps the authenticated transport (the
	// controller counts the requests it sends, pkg/elb/elbmetrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Credentials are the same credentials as the CCI API: the current user's
// iam auth-provider block, else the HW_* variables the vendor's tools
// read, else the fixed token.
func Credentials(o Options) (*auth.Credentials, error) {
	opts := auth.Options{CacheDir: o.CacheDir}
	// ProjectID names the project for the credentials too: AK/SK
	// otherwise needs one from config or HW_PROJECT_ID (or an IAM lookup by
	// project name) even though the ELB paths already have it.
	withProject := func(c map[string]string) map[string]string {
		out := make(map[string]string, len(c)+1)
		for k, v := range c {
			out[k] = v
		}
		if o.ProjectID != "" && out[auth.KeyProjectID] == "" {
			out[auth.KeyProjectID] = o.ProjectID
		}
		return out
	}
	// The cluster's address derives the project where nothing else names
	// it, as it does for the API server's own credentials (plugin).
	fromProvider := func(c map[string]string) (*auth.Credentials, error) {
		cfg, err := auth.ConfigFromProvider(withProject(c), o.ClusterAddress, opts)
		if err != nil {
			return nil, err
		}
		return auth.NewCredentials(cfg, opts)
	}
	if o.IAMProvider != nil {
		return fromProvider(o.IAMProvider)
	}
	if os.Getenv(auth.EnvAccessKey) != "" || os.Getenv(auth.EnvSecretKey) != "" {
		return fromProvider(nil)
	}
	if o.Token != "" {
		return auth.CredentialsFromProviderConfig(map[string]string{"token": o.Token}, opts)
	}
	return nil, errors.New("no ELB credentials: configure the iam auth-provider for the current user, or set HW_ACCESS_KEY and HW_SECRET_KEY, or CCICTL_ELB_TOKEN")
}

// NewClient is the client of the pools in region ("" = the pass's own).
// For another region than the pass's own, the same identity is scoped to
// that region's project (IAM projects are per region).
func NewClient(ctx context.Context, o Options, creds *auth.Credentials, region string) (elb.Client, error) {
	if region != "" {
		return regionClient(ctx, o, creds, region)
	}
	projectID := o.ProjectID
	if projectID == "" {
		projectID = os.Getenv(auth.EnvProjectID)
	}
	var err error
	if projectID == "" {
		if projectID, err = creds.ProjectID(ctx); err != nil {
			return nil, fmt.Errorf("ELB project ID: pass --project-id or set HW_PROJECT_ID (IAM lookup failed: %w)", err)
		}
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		region := OwnRegion(o)
		if region == "" {
			return nil, errors.New("ELB endpoint: pass --elb-endpoint (or CCICTL_ELB_ENDPOINT) or --region (or HW_REGION_NAME)")
		}
		endpoint = elb.EndpointForRegion(region)
	}
	return build(o, creds, endpoint, projectID)
}

// OwnRegion is the region of the pass's own pools (those of bindings
// without a region annotation), as far as it is known without calling
// IAM: auth.Region over --region, HW_REGION_NAME, the auth-provider's
// project-name and iam-endpoint, and the cluster's host. Unlike IAM's
// (auth.ConfigFromProvider), --region and HW_REGION_NAME come before the
// configured project-name on purpose: they name where the ELB is, as
// `ccictl sync --help` documents. "" when nothing names it (then
// --elb-endpoint must say where the ELB is).
func OwnRegion(o Options) string {
	return auth.Region(auth.RegionSources{
		Flag:           o.Region,
		ProjectName:    o.IAMProvider[auth.KeyProjectName],
		IAMEndpoint:    o.IAMProvider[auth.KeyIAMEndpoint],
		ClusterAddress: o.ClusterAddress,
	})
}

// ClientRegion answers "which region is this binding's pool in?" for the
// choice of its ELB client: "" (the pass's own client) for a binding
// without the region annotation, with an invalid one (it fails on its own,
// InvalidBinding, without a call), or naming own, the pass's own region
// (OwnRegion); else the annotation's region.
func ClientRegion(b *lbv1.PoolBinding, own string) string {
	if region, err := b.Region(); err == nil && region != own {
		return region
	}
	return ""
}

// regionClient is the client of a pool in region: endpoint from
// Endpoints (or the region's public one), project from ProjectIDs (or
// IAM, by the region's name, cached per region).
func regionClient(ctx context.Context, o Options, creds *auth.Credentials, region string) (elb.Client, error) {
	projectID := o.ProjectIDs[region]
	rc, err := creds.ForProject(region, projectID)
	if err != nil {
		return nil, err
	}
	if projectID == "" {
		if projectID, err = rc.ProjectID(ctx); err != nil {
			return nil, fmt.Errorf("project ID: pass --elb-project-ids %s=<id> (IAM lookup failed: %w)", region, err)
		}
	}
	endpoint := o.Endpoints[region]
	if endpoint == "" {
		endpoint = elb.EndpointForRegion(region)
	}
	return build(o, rc, endpoint, projectID)
}

func build(o Options, creds *auth.Credentials, endpoint, projectID string) (elb.Client, error) {
	// http.DefaultTransport keeps 2 idle connections per host: with more
	// bindings in flight, most calls would open a new connection (a TLS
	// handshake each). Keep one per concurrent binding (docs/performance.md).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(o.Concurrency, 2)
	reqTimeout := o.RequestTimeout
	if reqTimeout == 0 {
		reqTimeout = -1 // the flag's 0 means no per-attempt bound
	}
	rt := creds.WrapTransport(tr)
	if o.WrapTransport != nil {
		rt = o.WrapTransport(rt)
	}
	return elb.New(elb.Config{
		Endpoint:       strings.TrimRight(endpoint, "/"),
		ProjectID:      projectID,
		Transport:      rt,
		UserAgent:      "ccictl/" + version.Get().GitVersion,
		RequestTimeout: reqTimeout,
		Retry:          o.Retry,
	})
}
