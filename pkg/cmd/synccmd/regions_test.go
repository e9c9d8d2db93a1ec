package synccmd

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/cmdutil"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
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
	o := &SyncOptions{Region: "cn-north-4", factory: cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{})}
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

// The pass's own region may come only from the iam auth-provider's
// project-name or from the cluster's host: a binding annotated with that
// same region is the pass's own (one client, one quota cache, one report
// group), not a second region.
func TestOwnRegionFromConfigGroupsItsBindings(t *testing.T) {
	for name, tc := range map[string]struct {
		server string
		iam    map[string]string
		region string
	}{
		"project-name": {"https://127.0.0.1:1", map[string]string{"ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key", "project-name": "cn-north-4"}, "cn-north-4"},
		"sub-project":  {"https://127.0.0.1:1", map[string]string{"ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key", "project-name": "cn-north-4_team"}, "cn-north-4"},
		"cluster host": {"https://cci.cn-south-1.myhuaweicloud.com", map[string]string{"ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key", "project-id": "p"}, "cn-south-1"},
	} {
		t.Run(name, func(t *testing.T) {
			isolateEnv(t)
			cfgPath := filepath.Join(t.TempDir(), "cliconfig")
			kc := clientcmdapi.NewConfig()
			kc.Clusters["c"] = &clientcmdapi.Cluster{Server: tc.server}
			kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: auth.ProviderName, Config: tc.iam}}
			kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
			kc.CurrentContext = "c"
			if err := clientcmd.WriteToFile(*kc, cfgPath); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CLICONFIG", cfgPath)
			f := cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{CacheDir: t.TempDir()})
			o := &SyncOptions{factory: f, Output: "json"}
			b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "same", Annotations: map[string]string{lbv1.RegionAnnotation: tc.region}}}
			targets := []reconcile.Target{{Binding: &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plain"}}}, {Binding: b}}
			if got := o.groupByRegion(targets); len(got) != 1 || got[0].region != "" {
				t.Errorf("groups %+v, want one: the pass's own region %s", got, tc.region)
			}
			var out bytes.Buffer
			o.IOStreams = genericiooptions.IOStreams{Out: &out, ErrOut: io.Discard}
			if err := o.print([]reconcile.Result{{Binding: "ns/plain"}, {Binding: "ns/same", Region: tc.region}}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), `"regions"`) {
				t.Errorf("the report splits the pass's own region in two:\n%s", out.String())
			}
		})
	}
}
