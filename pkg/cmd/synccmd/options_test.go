package synccmd

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
)

// The flags and the elb-token setting (CCICTL_ELB_TOKEN) reach the ELB
// client's options unchanged (pkg/syncdriver adds the cluster's address and
// iam block); pkg/elb/elbconfig's tests show what the client does with
// them.
func TestELBOptions(t *testing.T) {
	isolateEnv(t)
	t.Setenv("CCICTL_ELB_TOKEN", "a-fixed-token")
	cache := t.TempDir()
	f := cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{CacheDir: cache})
	if err := f.Settings.Load(""); err != nil {
		t.Fatal(err)
	}
	o := &SyncOptions{ELBEndpoint: "https://elb.example", Region: "cn-north-4", ProjectID: "p0",
		ELBEndpoints: map[string]string{"cn-south-1": "https://elb-south.example"}, ELBProjectIDs: map[string]string{"cn-south-1": "p1"},
		Concurrency: 7, ELBRequestTimeout: 3 * time.Second, factory: f}
	want := elbconfig.Options{ProjectID: "p0", Region: "cn-north-4", Endpoint: "https://elb.example",
		Endpoints: o.ELBEndpoints, ProjectIDs: o.ELBProjectIDs, Concurrency: 7, RequestTimeout: 3 * time.Second,
		CacheDir: cache, Token: "a-fixed-token"}
	if got := o.elbOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("ELB options\n got %+v\nwant %+v", got, want)
	}
	o.Watch = true
	if got := o.elbOptions(); got.Retry != watchRetry {
		t.Errorf("--watch retry policy %+v, want the controller's %+v", got.Retry, watchRetry)
	}
}
