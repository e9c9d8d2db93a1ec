package v1

import "testing"

// The annotations are part of the API: users write these names in their
// manifests and docs/sync.md documents them, so a constant must not drift.
func TestAnnotationNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{WeightAnnotation, "loadbalancer.networking.openvessel.io/weight"},
		{SubnetAnnotation, "loadbalancer.networking.openvessel.io/subnet-id"},
		{MembersFinalizer, "loadbalancer.networking.openvessel.io/members"},
		{ZonesAnnotation, "loadbalancer.networking.openvessel.io/zones"},
		{NodeSelectorAnnotation, "loadbalancer.networking.openvessel.io/node-selector"},
		{RegionAnnotation, "loadbalancer.networking.openvessel.io/region"},
	} {
		if c.got != c.want {
			t.Errorf("annotation %q, want %q", c.got, c.want)
		}
	}
}
