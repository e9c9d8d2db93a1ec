package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// benchObjects is the size of the manifests below: 1,000 PoolBindings, as
// in the `get poolbindings -A` comparison of docs/performance.md.
const benchObjects = 1000

// poolBindingsYAML is n PoolBinding documents in one multi-document stream.
func poolBindingsYAML(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
# binding %d
apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: plb-%04d
  namespace: ns-%02d
  labels: {app: web, tier: "%d"}
spec:
  poolRef:
    id: e0812a4c-6b1d-4c8e-9f3a-%012d
  targetRef:
    kind: Service
    group: cci/v2
    name: web-%04d
    port: 80
`, i, i, i%10, i%3, i, i)
	}
	return b.Bytes()
}

// poolBindingsJSON is the same objects as one JSON List.
func poolBindingsJSON(tb testing.TB, n int) []byte {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{
			"apiVersion": "loadbalancer.networking.openvessel.io/v1",
			"kind":       "PoolBinding",
			"metadata":   map[string]any{"name": fmt.Sprintf("plb-%04d", i), "namespace": fmt.Sprintf("ns-%02d", i%10)},
			"spec": map[string]any{
				"poolRef":   map[string]any{"id": fmt.Sprintf("e0812a4c-6b1d-4c8e-9f3a-%012d", i)},
				"targetRef": map[string]any{"kind": "Service", "group": "cci/v2", "name": fmt.Sprintf("web-%04d", i), "port": 80},
			},
		}
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecode: decoding 1,000 objects (multi-document YAML with line
// tracking and the `//` doc-comment check, and a JSON List), reported per
// object.
func BenchmarkDecode(b *testing.B) {
	n := benchObjects
	if testing.Short() {
		n = 50
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"yaml", poolBindingsYAML(n)},
		{"json-list", poolBindingsJSON(b, n)},
	} {
		b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			for i := 0; i < b.N; i++ {
				docs := Decode("bench", tc.data)
				if len(docs) != n {
					b.Fatalf("%d documents, want %d", len(docs), n)
				}
				for _, d := range docs {
					if d.Err != nil {
						b.Fatal(d.Err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
		})
	}
}
