package validate

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// benchManifest is n PoolBindings, each with its Service, as one stream.
func benchManifest(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata: {name: plb-%04d, namespace: ns}
spec:
  poolRef: {id: e0812a4c-6b1d-4c8e-9f3a-%012d}
  targetRef: {kind: Service, group: cci/v2, name: web-%04d, port: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: web-%04d
  namespace: ns
  annotations: {kubernetes.io/elb.class: union}
spec:
  type: LoadBalancer
  selector: {app: web-%04d}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
`, i, i, i, i, i)
	}
	return b.Bytes()
}

// BenchmarkValidate: the rules over 1,000 PoolBindings and 1,000 Services
// (decoded once), with the default platforms and with every platform,
// reported per object.
func BenchmarkValidate(b *testing.B) {
	n := 1000
	if testing.Short() {
		n = 50
	}
	docs := manifest.Decode("bench.yaml", benchManifest(n))
	for _, d := range docs {
		if d.Err != nil {
			b.Fatal(d.Err)
		}
	}
	all := []string{}
	for _, p := range Platforms() {
		all = append(all, p.Name)
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{{"default", Options{}}, {"all-platforms", Options{Platforms: all}}} {
		b.Run(fmt.Sprintf("%s/%d", tc.name, len(docs)), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Validate(docs, tc.opts)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(docs)), "ns/object")
		})
	}
}
