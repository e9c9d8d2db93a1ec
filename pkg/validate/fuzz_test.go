package validate

import (
	"testing"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// FuzzValidate: arbitrary decoded objects never make a rule panic, under
// every platform at once, and every finding names a known rule.
func FuzzValidate(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports: [{port: 80, protocol: UDP}, 3]\n"))
	f.Add([]byte("apiVersion: x/v1\nkind: PoolBinding\nmetadata: {name: a}\nspec: {poolRef: 1, targetRef: {kind: Deployment, name: a, port: 1.5}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{ports: [{}]}]}}}\n"))
	all := []string{}
	for _, p := range Platforms() {
		all = append(all, p.Name)
	}
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := manifest.Decode("f.yaml", data)
		for _, opts := range []Options{{}, {Platforms: all}} {
			for _, fd := range Validate(docs, opts) {
				if !ids[fd.RuleID] || fd.Message == "" {
					t.Fatalf("bad finding %+v", fd)
				}
			}
		}
	})
}
