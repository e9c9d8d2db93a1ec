package synccmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/version"
)

// defaultELBClient builds the ELB client from the same credentials as the
// CCI API: the current user's iam auth-provider block, else the HW_*
// variables the vendor's tools read, else an IAM token in CCICTL_ELB_TOKEN.
// For another region than the pass's own, the same identity is scoped to
// that region's project (IAM projects are per region).
func (o *SyncOptions) defaultELBClient(ctx context.Context, region string) (elb.Client, error) {
	creds, err := o.elbCredentials()
	if err != nil {
		return nil, err
	}
	if region != "" {
		return o.regionELBClient(ctx, creds, region)
	}
	projectID := o.ProjectID
	if projectID == "" {
		projectID = os.Getenv("HW_PROJECT_ID")
	}
	if projectID == "" {
		if projectID, err = creds.ProjectID(ctx); err != nil {
			return nil, fmt.Errorf("ELB project ID: pass --project-id or set HW_PROJECT_ID (IAM lookup failed: %w)", err)
		}
	}
	endpoint := o.ELBEndpoint
	if endpoint == "" {
		region := o.Region
		if region == "" {
			region = os.Getenv("HW_REGION_NAME")
		}
		if region == "" {
			region = creds.ProjectName()
		}
		if region == "" {
			return nil, errors.New("ELB endpoint: pass --elb-endpoint (or CCICTL_ELB_ENDPOINT) or --region (or HW_REGION_NAME)")
		}
		endpoint = elb.EndpointForRegion(region)
	}
	return o.buildELBClient(creds, endpoint, projectID)
}

// regionELBClient is the client of a pool in region: endpoint from
// --elb-endpoints (or the region's public one), project from
// --elb-project-ids (or IAM, by the region's name, cached per region).
func (o *SyncOptions) regionELBClient(ctx context.Context, creds *auth.Credentials, region string) (elb.Client, error) {
	projectID := o.ELBProjectIDs[region]
	rc, err := creds.ForProject(region, projectID)
	if err != nil {
		return nil, err
	}
	if projectID == "" {
		if projectID, err = rc.ProjectID(ctx); err != nil {
			return nil, fmt.Errorf("project ID: pass --elb-project-ids %s=<id> (IAM lookup failed: %w)", region, err)
		}
	}
	endpoint := o.ELBEndpoints[region]
	if endpoint == "" {
		endpoint = elb.EndpointForRegion(region)
	}
	return o.buildELBClient(rc, endpoint, projectID)
}

func (o *SyncOptions) buildELBClient(creds *auth.Credentials, endpoint, projectID string) (elb.Client, error) {
	// http.DefaultTransport keeps 2 idle connections per host: with more
	// bindings in flight, most calls would open a new connection (a TLS
	// handshake each). Keep one per concurrent binding (docs/performance.md).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(o.Concurrency, 2)
	reqTimeout := o.ELBRequestTimeout
	if reqTimeout == 0 {
		reqTimeout = -1 // the flag's 0 means no per-attempt bound
	}
	return elb.New(elb.Config{
		Endpoint:       strings.TrimRight(endpoint, "/"),
		ProjectID:      projectID,
		Transport:      creds.WrapTransport(tr),
		UserAgent:      "ccictl/" + version.Get().GitVersion,
		RequestTimeout: reqTimeout,
	})
}

func (o *SyncOptions) elbCredentials() (*auth.Credentials, error) {
	opts := auth.Options{CacheDir: o.factory.Connection.CacheDir}
	// --project-id names the project for the credentials too: AK/SK
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
	cfg, err := o.factory.ToRESTConfig()
	if err == nil && cfg.AuthProvider != nil && cfg.AuthProvider.Name == "iam" {
		return auth.CredentialsFromProviderConfig(withProject(cfg.AuthProvider.Config), opts)
	}
	if os.Getenv("HW_ACCESS_KEY") != "" || os.Getenv("HW_SECRET_KEY") != "" {
		return auth.CredentialsFromProviderConfig(withProject(nil), opts)
	}
	if tok := o.factory.Settings.GetString("elb-token"); tok != "" {
		return auth.CredentialsFromProviderConfig(map[string]string{"token": tok}, opts)
	}
	return nil, errors.New("no ELB credentials: configure the iam auth-provider for the current user, or set HW_ACCESS_KEY and HW_SECRET_KEY, or CCICTL_ELB_TOKEN")
}
