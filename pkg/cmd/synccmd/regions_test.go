package synccmd

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/client/auth/iamtest"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/reconcile"
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
	// The iam auth-provider of the current user, as ccictl's cliconfig has
	// it: the identity and the IAM endpoint; the pass's own project.
	cfgPath := filepath.Join(t.TempDir(), "cliconfig")
	kc := clientcmdapi.NewConfig()
	// https: client-go applies a user's credentials to TLS clusters only.
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: auth.ProviderName, Config: map[string]string{
		"ak": ak, "sk": sk, "iam-endpoint": iam.URL, "project-name": "cn-north-4", "project-id": north}}}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, cfgPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfgPath)
	if err := auth.Register(auth.Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}

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

	o := &SyncOptions{ELBEndpoint: urlN, ProjectID: north, Region: "cn-north-4",
		ELBEndpoints:  map[string]string{"cn-south-1": urlS, "cn-east-3": urlE},
		ELBProjectIDs: map[string]string{"cn-south-1": south},
		factory:       cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{CacheDir: t.TempDir()})}
	for _, tc := range []struct {
		region, pool string
		emu          *elbemulator.Emulator
	}{{"", "pool-01", emuN}, {"cn-south-1", "pool-02", emuS}, {"cn-east-3", "pool-03", emuE}} {
		c, err := o.defaultELBClient(context.Background(), tc.region)
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
	_, err := o.defaultELBClient(context.Background(), "ap-southeast-1")
	if err == nil || !strings.Contains(err.Error(), "--elb-project-ids ap-southeast-1=<id>") {
		t.Errorf("unknown region: %v", err)
	}
}

// A fixed IAM token cannot serve a pool in another region.
func TestRegionELBClientRefusesToken(t *testing.T) {
	isolateEnv(t)
	t.Setenv("CCICTL_ELB_TOKEN", "a-fixed-token")
	f := cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{CacheDir: t.TempDir()})
	if err := f.Settings.Load(""); err != nil {
		t.Fatal(err)
	}
	o := &SyncOptions{ELBEndpoint: "http://127.0.0.1:1", ProjectID: "p", factory: f}
	_, err := o.defaultELBClient(context.Background(), "cn-south-1")
	if err == nil || !strings.Contains(err.Error(), "scoped to the one project") || strings.Contains(err.Error(), "a-fixed-token") {
		t.Errorf("token for another region: %v", err)
	}
}

// Bindings are grouped by their pool's region; the pass's own region (or no
// annotation, or an invalid one, which fails on its own) is the "" group.
func TestGroupByRegion(t *testing.T) {
	isolateEnv(t)
	tg := func(name, region string) reconcile.Target {
		b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		if region != "" {
			b.Annotations = map[string]string{lbv1.RegionAnnotation: region}
		}
		return reconcile.Target{Binding: b}
	}
	targets := []reconcile.Target{tg("a", ""), tg("b", "cn-south-1"), tg("c", "cn-north-4"), tg("d", "Not A Region"), tg("e", "cn-south-1")}
	o := &SyncOptions{Region: "cn-north-4"}
	got := o.groupByRegion(targets)
	want := []regionGroup{{"", []int{0, 2, 3}}, {"cn-south-1", []int{1, 4}}}
	if len(got) != len(want) {
		t.Fatalf("groups %+v", got)
	}
	for i := range want {
		if got[i].region != want[i].region || len(got[i].targets) != len(want[i].targets) {
			t.Fatalf("groups %+v, want %+v", got, want)
		}
		for j := range want[i].targets {
			if got[i].targets[j] != want[i].targets[j] {
				t.Fatalf("groups %+v, want %+v", got, want)
			}
		}
	}
}
