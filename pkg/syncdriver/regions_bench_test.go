package syncdriver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

type benchToken struct{ next http.RoundTripper }

func (t benchToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", "bench-token")
	return t.next.RoundTrip(r)
}

// BenchmarkRegions: one pass over 300 bindings × 50 endpoints from empty,
// all in one region or 100 in each of three (one emulator per region, each
// call delayed by 10ms). Each region's calls are the documented minimum
// (per binding 1 GetPool + 1 ListMembers + 1 batch-add, plus one quota read
// per region), and the regions run side by side.
//
//	go test -run '^$' -bench BenchmarkRegions ./pkg/syncdriver
func BenchmarkRegions(b *testing.B) {
	const bindings, perBinding = 300, 50
	for _, regions := range []int{1, 3} {
		b.Run(fmt.Sprintf("regions=%d", regions), func(b *testing.B) {
			var calls, minimum float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				names := []string{"", "cn-south-1", "cn-east-3"}[:regions]
				emus := make([]*elbemulator.Emulator, regions)
				clients := make([]elb.Client, regions)
				groups := make([]regionGroup, regions)
				for r := range regions {
					emus[r] = elbemulator.New(elbemulator.Options{ProjectID: "p", Token: "bench-token", Latency: 10 * time.Millisecond})
					srv := httptest.NewServer(emus[r])
					defer srv.Close()
					c, err := elb.New(elb.Config{Endpoint: srv.URL, ProjectID: "p", Transport: benchToken{http.DefaultTransport}})
					if err != nil {
						b.Fatal(err)
					}
					clients[r], groups[r] = c, regionGroup{region: names[r]}
				}
				targets := make([]poolsync.Target, bindings)
				for j := range targets {
					r := j % regions
					pool := fmt.Sprintf("%08x-0000-4000-8000-000000000000", j)
					emus[r].CreatePool(elb.Pool{ID: pool, Listeners: []elb.Ref{{ID: "l"}}})
					bd := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("b%d", j), UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", j))},
						Spec: lbv1.PoolBindingSpec{PoolRef: lbv1.PoolRef{ID: pool}, TargetRef: lbv1.TargetRef{Kind: "Service", Name: "web", Port: 80}}}
					if names[r] != "" {
						bd.Annotations = map[string]string{lbv1.RegionAnnotation: names[r]}
					}
					eps := make([]poolsync.Endpoint, perBinding)
					for k := range eps {
						eps[k] = poolsync.Endpoint{Address: fmt.Sprintf("10.%d.%d.%d", j/250, j%250, k+1), Port: 8080}
					}
					targets[j] = poolsync.Target{Binding: bd, Endpoints: eps}
					groups[r].targets = append(groups[r].targets, j)
				}
				b.StartTimer()
				results := runRegions(context.Background(), groups, clients, targets, poolsync.Options{Policy: poolsync.Policy{ClusterID: "bench", Concurrency: 16}})
				b.StopTimer()
				for _, res := range results {
					if res.State != poolsync.StateSynced {
						b.Fatalf("%s: %s %s", res.Binding, res.State, res.Message)
					}
				}
				for r := range regions {
					c := emus[r].Counts()
					n := len(groups[r].targets)
					got := c[elbemulator.OpGetPool] + c[elbemulator.OpListMembers] + c[elbemulator.OpBatchAddMembers] + c[elbemulator.OpGetQuota]
					want := 3*n + 1
					if got != want {
						b.Fatalf("region %d: %d calls (%v), minimum %d", r, got, c, want)
					}
					calls += float64(got)
					minimum += float64(want)
				}
			}
			b.ReportMetric(calls/float64(b.N)/float64(regions), "calls/region")
			b.ReportMetric(calls/minimum, "ratio")
		})
	}
}
