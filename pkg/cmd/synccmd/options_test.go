package synccmd

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
)

// The flags and the elb-token setting (CCICTL_ELB_TOKEN) reach the ELB
// client's options unchanged (the driver adds the iam block,
// pkg/syncdriver); pkg/elb/elbconfig's tests show what the client does
// with them.
func TestELBOptions(t *testing.T) {
	isolateEnv(t)
	iamBlock := map[string]string{"ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key", "project-name": "cn-north-4"}
	cfgPath := filepath.Join(t.TempDir(), "cliconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: auth.ProviderName, Config: iamBlock}}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, cfgPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfgPath)
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

}
