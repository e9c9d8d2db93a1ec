package manifest

import "testing"

// FuzzDecode: Decode never panics and every document is either an object
// or an error, never both or neither.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: A\nmetadata:\n  name: a  //c\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"kind":"A"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := Decode("f", data)
		if len(docs) == 0 {
			t.Fatal("Decode returned no documents")
		}
		for i, d := range docs {
			if (d.Object == nil) == (d.Err == nil) {
				t.Fatalf("doc %d: Object %v, Err %v", i, d.Object, d.Err)
			}
			if d.Object != nil && len(d.Raw) == 0 {
				t.Fatalf("doc %d: object without Raw", i)
			}
			_ = d.FieldLine("spec.ports[0].port")
		}
	})
}
