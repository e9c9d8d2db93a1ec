package auth

import (
	"net/url"
	"os"
	"strings"
)

// RegionSources are the places that can name the region the pass's own
// project is in, each optional.
type RegionSources struct {
	// Flag is --region of `ccictl sync`.
	Flag string
	// ProjectName is the iam auth-provider's project-name; a sub-project
	// is named REGION_NAME.
	ProjectName string
	// IAMEndpoint is the auth-provider's iam-endpoint,
	// https://iam.REGION.myhuaweicloud.com.
	IAMEndpoint string
	// ClusterAddress is the API server's address,
	// https://cci.REGION.myhuaweicloud.com on CCI 2.0.
	ClusterAddress string
	// Getenv reads EnvRegionName; nil reads the process environment.
	Getenv func(string) string
}

// Region is the one rule for "which region is this?": the first of
// Flag, $HW_REGION_NAME, the region of ProjectName, the region in the
// IAM endpoint's host, the region in the cluster's host; "" when none
// names one. The ELB client of the pass's own pools, the grouping of
// bindings by region (their region annotation against this one) and the
// IAM credentials all answer with it.
func Region(s RegionSources) string {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, r := range []string{
		strings.TrimSpace(s.Flag),
		strings.TrimSpace(getenv(EnvRegionName)),
		ProjectRegion(strings.TrimSpace(s.ProjectName)),
		regionFromHost(s.IAMEndpoint, "iam"),
		regionFromHost(s.ClusterAddress, "cci"),
	} {
		if r != "" {
			return r
		}
	}
	return ""
}

// ProjectRegion is the region of an IAM project name: the name itself, or
// REGION of a sub-project's REGION_NAME.
func ProjectRegion(project string) string {
	r, _, _ := strings.Cut(project, "_")
	return r
}

// regionFromHost returns REGION from https://SERVICE.REGION.myhuaweicloud.com.
func regionFromHost(addr, service string) string {
	if addr == "" {
		return ""
	}
	u, err := url.Parse(addr)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) >= 4 && parts[0] == service && strings.HasPrefix(strings.Join(parts[2:], "."), "myhuaweicloud.") {
		return parts[1]
	}
	return ""
}
