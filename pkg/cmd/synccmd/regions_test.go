package synccmd

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/poolsync"
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

// The report counts the results without a region (the pass's own) in the
// pass's own region: a binding annotated with that same region is not a
// second region of the summary.
func TestReportOwnRegion(t *testing.T) {
	results := []poolsync.Result{{Binding: "ns/plain"}, {Binding: "ns/same", Region: "cn-north-4"}, {Binding: "ns/south", Region: "cn-south-1"}}
	var out bytes.Buffer
	o := &SyncOptions{Output: "json", IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: io.Discard}}
	if err := o.printReport(results, nil, map[string]string{"": "cn-north-4"}); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Regions) != 2 || rep.Regions[0].Region != "cn-north-4" || rep.Regions[0].Bindings != 2 || rep.Regions[1].Region != "cn-south-1" {
		t.Errorf("regions %+v", rep.Regions)
	}
}
