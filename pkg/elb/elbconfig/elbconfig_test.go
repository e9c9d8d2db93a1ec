package elbconfig

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client/auth/iamtest"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

func isolateEnv(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLICONFIG", filepath.Join(home, "none"))
	t.Setenv("KUBECONFIG", filepath.Join(home, "none"))
	for _, k := range []string{"HW_PROJECT_ID", "HW_REGION_NAME", "HW_PROJECT_NAME", "CCICTL_ELB_TOKEN", "HW_ACCESS_KEY", "HW_SECRET_KEY"} {
		t.Setenv(k, "")
	}
}

func newClient(t *testing.T, o Options, region string) (elb.Client, error) {
	t.Helper()
	creds, err := Credentials(o)
	if err != nil {
		return nil, err
	}
	return NewClient(context.Background(), o, creds, region)
}

// AK/SK from HW_ACCESS_KEY/HW_SECRET_KEY with the project given only by
// --project-id: the credentials must take that project rather than fail
// for want of HW_PROJECT_ID or a project name.
func TestELBClientAKSKWithProjectFlag(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcdef", "UNITTESTAK00000000AK", "unit-test-secret-key"
	isolateEnv(t)
	t.Setenv("HW_ACCESS_KEY", ak)
	t.Setenv("HW_SECRET_KEY", sk)

	emu := elbemulator.New(elbemulator.Options{ProjectID: project, AccessKey: ak, SecretKey: sk})
	emu.CreatePool(elb.Pool{ID: "pool-1"})
	srv := httptest.NewServer(emu)
	defer srv.Close()

	c, err := newClient(t, Options{Endpoint: srv.URL, ProjectID: project, CacheDir: t.TempDir()}, "")
	if err != nil {
		t.Fatalf("ELB client: %v", err)
	}
	if _, err := c.GetPool(context.Background(), "pool-1"); err != nil {
		t.Fatalf("signed GetPool: %v", err)
	}
	if n := emu.Counts()[elbemulator.OpUnauthorized]; n != 0 {
		t.Errorf("%d requests were not accepted as signed", n)
	}
}

// A pool in another region is reached at that region's endpoint with that
// region's project: given by --elb-project-ids, or looked up in IAM by the
// region's name (once; then cached). Each client signs for its own project,
// which each emulator checks in the path.
func TestRegionELBClients(t *testing.T) {
	isolateEnv(t)
	const ak, sk = "UNITTESTAK00000000AK", "unit-test-secret-key"
	const north, south, east = "0123456789abcdef0123456789abcd01", "0123456789abcdef0123456789abcd02", "0123456789abcdef0123456789abcd03"
	iam := iamtest.New(
		iamtest.User{Domain: "acct", Name: "ci", ProjectName: "cn-north-4", ProjectID: north, AK: ak, SK: sk},
		iamtest.User{Domain: "acct", Name: "ci-south", ProjectName: "cn-south-1", ProjectID: south},
		iamtest.User{Domain: "acct", Name: "ci-east", ProjectName: "cn-east-3", ProjectID: east},
	)
	defer iam.Close()

	serve := func(project string) (*elbemulator.Emulator, string) {
		e := elbemulator.New(elbemulator.Options{ProjectID: project, AccessKey: ak, SecretKey: sk})
		e.CreatePool(elb.Pool{ID: "pool-" + project[len(project)-2:]})
		srv := httptest.NewServer(e)
		t.Cleanup(srv.Close)
		return e, srv.URL
	}
	emuN, urlN := serve(north)
	emuS, urlS := serve(south)
	emuE, urlE := serve(east)

	// The iam auth-provider of the current user, as ccictl's cliconfig has
	// it: the identity and the IAM endpoint; the pass's own project.
	o := Options{Endpoint: urlN, ProjectID: north, Region: "cn-north-4",
		Endpoints:  map[string]string{"cn-south-1": urlS, "cn-east-3": urlE},
		ProjectIDs: map[string]string{"cn-south-1": south},
		CacheDir:   t.TempDir(),
		IAMProvider: map[string]string{
			"ak": ak, "sk": sk, "iam-endpoint": iam.URL, "project-name": "cn-north-4", "project-id": north}}
	creds, err := Credentials(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		region, pool string
		emu          *elbemulator.Emulator
	}{{"", "pool-01", emuN}, {"cn-south-1", "pool-02", emuS}, {"cn-east-3", "pool-03", emuE}} {
		c, err := NewClient(context.Background(), o, creds, tc.region)
		if err != nil {
			t.Fatalf("region %q: %v", tc.region, err)
		}
		if _, err := c.GetPool(context.Background(), tc.pool); err != nil {
			t.Fatalf("region %q: GetPool: %v", tc.region, err)
		}
		if n := tc.emu.Counts()[elbemulator.OpUnauthorized]; n != 0 {
			t.Errorf("region %q: %d requests refused", tc.region, n)
		}
	}
	// Only cn-east-3 needed IAM: its project was not given.
	if n := iam.Calls().ProjectLookups; n != 1 {
		t.Errorf("IAM project lookups = %d, want 1 (cn-east-3)", n)
	}

	// A region IAM does not know: the error says how to give the project.
	_, err = NewClient(context.Background(), o, creds, "ap-southeast-1")
	if err == nil || !strings.Contains(err.Error(), "--elb-project-ids ap-southeast-1=<id>") {
		t.Errorf("unknown region: %v", err)
	}
}

// A fixed IAM token cannot serve a pool in another region.
func TestRegionELBClientRefusesToken(t *testing.T) {
	isolateEnv(t)
	o := Options{Endpoint: "http://127.0.0.1:1", ProjectID: "p", CacheDir: t.TempDir(), Token: "a-fixed-token"}
	_, err := newClient(t, o, "cn-south-1")
	if err == nil || !strings.Contains(err.Error(), "scoped to the one project") || strings.Contains(err.Error(), "a-fixed-token") {
		t.Errorf("token for another region: %v", err)
	}
}

// Without an auth-provider, AK/SK or a token there is nothing to sign
// with, and the error says what to configure.
func TestNoCredentials(t *testing.T) {
	isolateEnv(t)
	_, err := Credentials(Options{ProjectID: "p", CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no ELB credentials") || !strings.Contains(err.Error(), "HW_ACCESS_KEY") {
		t.Errorf("no credentials: %v", err)
	}
}

// The ELB's own region: --region and HW_REGION_NAME before the
// auth-provider's project (unlike IAM's order, on purpose), then the
// project's region, the IAM endpoint's, the cluster's host.
func TestOwnRegion(t *testing.T) {
	isolateEnv(t)
	iam := map[string]string{"project-name": "cn-east-3_team", "iam-endpoint": "https://iam.ap-southeast-1.myhuaweicloud.com"}
	cluster := "https://cci.la-north-2.myhuaweicloud.com"
	if got := OwnRegion(Options{Region: "cn-north-4", IAMProvider: iam, ClusterAddress: cluster}); got != "cn-north-4" {
		t.Errorf("--region: %q", got)
	}
	t.Setenv("HW_REGION_NAME", "cn-south-1")
	if got := OwnRegion(Options{IAMProvider: iam, ClusterAddress: cluster}); got != "cn-south-1" {
		t.Errorf("HW_REGION_NAME before project-name: %q", got)
	}
	t.Setenv("HW_REGION_NAME", "")
	if got := OwnRegion(Options{IAMProvider: iam, ClusterAddress: cluster}); got != "cn-east-3" {
		t.Errorf("project-name: %q", got)
	}
	if got := OwnRegion(Options{ClusterAddress: cluster}); got != "la-north-2" {
		t.Errorf("cluster host: %q", got)
	}
}

// Which client serves a binding: the pass's own ("") unless its region
// annotation names another region than the pass's own.
func TestClientRegion(t *testing.T) {
	for _, tc := range []struct{ annotation, own, want string }{
		{"", "cn-north-4", ""},
		{"cn-north-4", "cn-north-4", ""},
		{"cn-south-1", "cn-north-4", "cn-south-1"},
		{"cn-south-1", "", "cn-south-1"},
		{"North China", "cn-north-4", ""},
	} {
		b := &lbv1.PoolBinding{}
		if tc.annotation != "" {
			b.Annotations = map[string]string{lbv1.RegionAnnotation: tc.annotation}
		}
		if got := ClientRegion(b, tc.own); got != tc.want {
			t.Errorf("annotation %q, own %q: %q, want %q", tc.annotation, tc.own, got, tc.want)
		}
	}
}

// Where only the cluster's host names the region (CCI 2.0), the own
// client has an endpoint without --region; without it, the error says what
// to pass.
func TestOwnClientRegionFromClusterHost(t *testing.T) {
	isolateEnv(t)
	o := Options{ProjectID: "0123456789abcdef0123456789abcdef", CacheDir: t.TempDir(), Token: "a-fixed-token"}
	if _, err := newClient(t, o, ""); err == nil || !strings.Contains(err.Error(), "--region") {
		t.Errorf("no region anywhere: %v", err)
	}
	o.ClusterAddress = "https://cci.la-north-2.myhuaweicloud.com"
	if _, err := newClient(t, o, ""); err != nil {
		t.Errorf("region from the cluster's host: %v", err)
	}
}
