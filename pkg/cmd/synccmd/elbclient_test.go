package synccmd

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// AK/SK from HW_ACCESS_KEY/HW_SECRET_KEY with the project given only by
// --project-id: the credentials must take that project rather than fail
// for want of HW_PROJECT_ID or a project name.
func TestELBClientAKSKWithProjectFlag(t *testing.T) {
	const project, ak, sk = "0123456789abcdef0123456789abcdef", "UNITTESTAK00000000AK", "unit-test-secret-key"
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLICONFIG", filepath.Join(home, "none"))
	t.Setenv("KUBECONFIG", filepath.Join(home, "none"))
	for _, k := range []string{"HW_PROJECT_ID", "HW_REGION_NAME", "HW_PROJECT_NAME", "CCICTL_ELB_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("HW_ACCESS_KEY", ak)
	t.Setenv("HW_SECRET_KEY", sk)

	emu := elbemulator.New(elbemulator.Options{ProjectID: project, AccessKey: ak, SecretKey: sk})
	emu.CreatePool(elb.Pool{ID: "pool-1"})
	srv := httptest.NewServer(emu)
	defer srv.Close()

	o := &SyncOptions{ELBEndpoint: srv.URL, ProjectID: project,
		factory: cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), &client.ConnectionOptions{CacheDir: t.TempDir()})}
	c, err := o.defaultELBClient(context.Background(), "")
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
