package synccmd

import (
	"context"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
)

// newELBClient builds the client of a region ("" = the pass's own) from
// the flags, the current user's iam auth-provider block and the elb-token
// setting (CCICTL_ELB_TOKEN): with pkg/elb/elbconfig, or with the
// Factory's NewELBClient where a test set one.
func (o *SyncOptions) newELBClient(ctx context.Context, region string) (elb.Client, error) {
	eo := o.elbOptions()
	if o.factory.NewELBClient != nil {
		return o.factory.NewELBClient(ctx, eo, region)
	}
	creds, err := elbconfig.Credentials(eo)
	if err != nil {
		return nil, err
	}
	return elbconfig.NewClient(ctx, eo, creds, region)
}

// elbOptions maps the flags and the factory's configuration to the ELB
// client's options.
func (o *SyncOptions) elbOptions() elbconfig.Options {
	eo := elbconfig.Options{
		ProjectID:      o.ProjectID,
		Region:         o.Region,
		Endpoint:       o.ELBEndpoint,
		Endpoints:      o.ELBEndpoints,
		ProjectIDs:     o.ELBProjectIDs,
		Concurrency:    o.Concurrency,
		RequestTimeout: o.ELBRequestTimeout,
		CacheDir:       o.factory.Connection.CacheDir,
		Token:          o.factory.Settings.GetString("elb-token"),
		WrapTransport:  o.elbTransport,
	}
	if o.Watch {
		eo.Retry = watchRetry
	}
	if cfg, err := o.factory.ToRESTConfig(); err == nil {
		eo.ClusterAddress = cfg.Host
		if cfg.AuthProvider != nil && cfg.AuthProvider.Name == "iam" {
			eo.IAMProvider = map[string]string{}
			for k, v := range cfg.AuthProvider.Config {
				eo.IAMProvider[k] = v
			}
		}
	}
	return eo
}
