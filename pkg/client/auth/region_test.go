package auth

import "testing"

// The precedence of the one region rule, source by source: each row gives
// every source from one position on, and the first one must win.
func TestRegionPrecedence(t *testing.T) {
	const (
		iam     = "https://iam.ap-southeast-1.myhuaweicloud.com"
		cluster = "https://cci.la-north-2.myhuaweicloud.com"
	)
	for _, tc := range []struct {
		name string
		s    RegionSources
		env  string
		want string
	}{
		{"flag first", RegionSources{Flag: "cn-north-4", ProjectName: "cn-east-3", IAMEndpoint: iam, ClusterAddress: cluster}, "cn-south-1", "cn-north-4"},
		{"then HW_REGION_NAME", RegionSources{ProjectName: "cn-east-3", IAMEndpoint: iam, ClusterAddress: cluster}, "cn-south-1", "cn-south-1"},
		{"then project-name", RegionSources{ProjectName: "cn-east-3", IAMEndpoint: iam, ClusterAddress: cluster}, "", "cn-east-3"},
		{"a sub-project's region", RegionSources{ProjectName: "cn-east-3_team", IAMEndpoint: iam, ClusterAddress: cluster}, "", "cn-east-3"},
		{"then the IAM endpoint's host", RegionSources{IAMEndpoint: iam, ClusterAddress: cluster}, "", "ap-southeast-1"},
		{"then the cluster's host", RegionSources{IAMEndpoint: "https://127.0.0.1:5000", ClusterAddress: cluster}, "", "la-north-2"},
		{"a host of another service names nothing", RegionSources{ClusterAddress: "https://elb.cn-north-4.myhuaweicloud.com"}, "", ""},
		{"an address outside the cloud names nothing", RegionSources{ClusterAddress: "https://cci.cn-north-4.example.com"}, "", ""},
		{"blank values are absent", RegionSources{Flag: " ", ProjectName: " "}, " ", ""},
		{"nothing", RegionSources{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Getenv = func(k string) string {
				if k == EnvRegionName {
					return tc.env
				}
				return ""
			}
			if got := Region(tc.s); got != tc.want {
				t.Errorf("Region(%+v, HW_REGION_NAME=%q) = %q, want %q", tc.s, tc.env, got, tc.want)
			}
		})
	}
}

// IAM consults the region rule only without a configured project-name:
// a configured project comes before HW_REGION_NAME (it names the project
// the credentials are scoped to), and the IAM endpoint is its region's.
func TestProviderRegionOrder(t *testing.T) {
	env := func(k string) string {
		return map[string]string{EnvRegionName: "cn-south-1", EnvAccessKey: "AK", EnvSecretKey: "SK"}[k]
	}
	for _, tc := range []struct {
		name             string
		cfg              map[string]string
		cluster          string
		project, iamHost string
	}{
		{"configured project before HW_REGION_NAME", map[string]string{KeyProjectName: "cn-east-3_team"}, "", "cn-east-3_team", "https://iam.cn-east-3.myhuaweicloud.com"},
		{"HW_REGION_NAME without one", map[string]string{}, "https://cci.la-north-2.myhuaweicloud.com", "cn-south-1", "https://iam.cn-south-1.myhuaweicloud.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromProvider(tc.cfg, tc.cluster, Options{Getenv: env, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if c.ProjectName != tc.project || c.IAMEndpoint != tc.iamHost {
				t.Errorf("project %q at %s, want %q at %s", c.ProjectName, c.IAMEndpoint, tc.project, tc.iamHost)
			}
		})
	}
	// Nothing but the cluster's host: it names the project, as before.
	c, err := ConfigFromProvider(map[string]string{}, "https://cci.la-north-2.myhuaweicloud.com", Options{Getenv: func(k string) string {
		return map[string]string{EnvAccessKey: "AK", EnvSecretKey: "SK"}[k]
	}, CacheDir: t.TempDir()})
	if err != nil || c.ProjectName != "la-north-2" || c.IAMEndpoint != "https://iam.la-north-2.myhuaweicloud.com" {
		t.Errorf("cluster host only: %+v %v", c, err)
	}
}
