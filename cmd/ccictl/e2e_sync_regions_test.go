package main_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

const (
	regionAK, regionSK = "E2EREGIONAK000000000", "e2e-region-secret-key"
	southProject       = "0123456789abcdef0123456789abc5e1"
)

// regionEnv is a sync environment whose ELB takes AK/SK (which can be
// scoped to any project of the account, unlike a fixed token), and a second
// emulator standing for the ELB of region cn-south-1, with its own project.
func regionEnv(t *testing.T, ns string) (north, south *syncEnv) {
	t.Helper()
	north = newSyncEnvWith(t, ns, elbemulator.Options{MemberQuota: 10000, AccessKey: regionAK, SecretKey: regionSK})
	north.extraEnv = []string{"HW_ACCESS_KEY=" + regionAK, "HW_SECRET_KEY=" + regionSK}
	emu := elbemulator.New(elbemulator.Options{MemberQuota: 10000, ProjectID: southProject, AccessKey: regionAK, SecretKey: regionSK})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	s := *north
	s.emu, s.url = emu, srv.URL
	return north, &s
}

// TestSyncRegions: bindings whose pools are in two regions converge in one
// pass, each pool reached at its region's endpoint under its region's
// project (each emulator serves one project and refuses others), with the
// minimum of calls in each region; -o json splits the summary by region. A
// binding naming the pass's own region uses the pass's client. A region
// annotation that is not a region name fails that binding alone.
func TestSyncRegions(t *testing.T) {
	north, south := regionEnv(t, "sync-regions")
	const poolN, poolS, poolN2 = "1a1a1a1a-0000-4000-8000-00000000001a", "2b2b2b2b-0000-4000-8000-00000000002b", "3c3c3c3c-0000-4000-8000-00000000003c"
	north.pool(poolN)
	north.pool(poolN2)
	south.pool(poolS)
	north.manualSlice("web", 80, 8080, addrs("10.48", 0, 3))
	uidN := north.binding("north", poolN, "web", 80)
	uidN2 := north.zonedBinding("north2", poolN2, "web", 80, map[string]string{lbv1.RegionAnnotation: "cn-north-4"})
	uidS := north.zonedBinding("south", poolS, "web", 80, map[string]string{lbv1.RegionAnnotation: "cn-south-1"})

	args := []string{"--region", "cn-north-4", "--elb-endpoints", "cn-south-1=" + south.url, "--elb-project-ids", "cn-south-1=" + southProject}
	r := north.sync(append(args, "-o", "json")...)
	if r.Code != 0 {
		t.Fatalf("pass over two regions: %s", r)
	}
	var rep struct {
		Results []struct {
			Name, Region, State string
			Added               int
		} `json:"results"`
		Regions []struct {
			Region   string
			Bindings int
			InSync   int `json:"inSync"`
			Added    int
		} `json:"regions"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.Stdout)
	}
	if len(rep.Regions) != 2 || rep.Regions[0].Region != "cn-north-4" || rep.Regions[0].Bindings != 2 || rep.Regions[0].Added != 6 ||
		rep.Regions[1].Region != "cn-south-1" || rep.Regions[1].Bindings != 1 || rep.Regions[1].Added != 3 || rep.Regions[1].InSync != 1 {
		t.Errorf("regions summary: %+v", rep.Regions)
	}
	if len(rep.Results) != 3 || rep.Results[2].Name != "south" || rep.Results[2].Region != "cn-south-1" || rep.Results[2].State != "Synced" {
		t.Errorf("results: %+v", rep.Results)
	}
	want := withPort(addrs("10.48", 0, 3), 8080)
	north.wantPool(poolN, owned(markerOf(north.ns, "north", uidN), want...))
	north.wantPool(poolN2, owned(markerOf(north.ns, "north2", uidN2), want...))
	south.wantPool(poolS, owned(markerOf(north.ns, "south", uidS), want...))
	// The minimum in each region: per binding one GetPool, one ListMembers,
	// one batch-add; nothing refused (a call under the wrong project would be).
	north.wantCalls(2, 2, 2, 0)
	south.wantCalls(1, 1, 1, 0)

	// In sync: nothing written anywhere.
	north.emu.ResetCounts()
	south.emu.ResetCounts()
	r = north.sync(args...)
	if r.Code != 0 || r.Stdout != "poolbinding/north: +0 -0 =3 foreign=0\npoolbinding/north2: +0 -0 =3 foreign=0\npoolbinding/south: +0 -0 =3 foreign=0\n" {
		t.Errorf("second pass: %s", r)
	}
	north.wantCalls(2, 2, 0, 0)
	south.wantCalls(1, 1, 0, 0)

	// Without the region's project the IAM lookup is tried; with no IAM to
	// ask, the pass fails before any write, saying how to give it.
	r = north.sync("--region", "cn-north-4", "--elb-endpoints", "cn-south-1="+south.url)
	if r.Code != 1 || !strings.Contains(r.Stderr, "ELB client of region cn-south-1 (bindings "+north.ns+"/south)") ||
		!strings.Contains(r.Stderr, "--elb-project-ids cn-south-1=<id>") {
		t.Errorf("region without project: %s", r)
	}

	// A region annotation that is not a region name: that binding fails on
	// its own, without a call, the others are synced.
	// (ccictl create refuses it, PLB016; kubectl sends it.)
	bad := "apiVersion: loadbalancer.networking.openvessel.io/v1\nkind: PoolBinding\nmetadata:\n  name: bad\n  namespace: " + north.ns +
		"\n  annotations:\n    " + lbv1.RegionAnnotation + ": North China\nspec:\n  poolRef:\n    id: " + poolN +
		"\n  targetRef:\n    kind: Service\n    group: cci/v2\n    name: web\n    port: 80\n"
	mustSucceed(t, kubectl(t, "create", "-f", writeFile(t, "bad.yaml", bad)))
	r = north.sync(append(args, "bad", "north")...)
	if r.Code != 1 || !strings.Contains(r.Stdout, `poolbinding/bad: +0 -0 =0 foreign=0 failed: InvalidBinding: annotation loadbalancer.networking.openvessel.io/region: "North China" is not a region name (such as cn-north-4); nothing changed`) ||
		!strings.Contains(r.Stdout, "poolbinding/north: +0 -0 =3 foreign=0") {
		t.Errorf("invalid region annotation: %s", r)
	}

	// A bad --elb-endpoints key is a usage error.
	r = north.sync("--elb-endpoints", "South=http://x")
	if r.Code != 1 || !strings.Contains(r.Stderr, `--elb-endpoints: "South" is not a region name`) {
		t.Errorf("bad --elb-endpoints: %s", r)
	}
}
