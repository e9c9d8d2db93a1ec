package bindingsource

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts RESTMapping calls and fails with fail when set.
type countingMapper struct {
	meta.RESTMapper
	calls int
	fail  error
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	if c.fail != nil {
		return nil, c.fail
	}
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestRememberMappings(t *testing.T) {
	base := meta.NewDefaultRESTMapper(nil)
	base.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	c := &countingMapper{RESTMapper: base}
	m := RememberMappings(c)
	if RememberMappings(m) != m {
		t.Error("RememberMappings of a remembering mapper wraps it again")
	}
	svc, cci := schema.GroupKind{Kind: "Service"}, schema.GroupKind{Group: "cci", Kind: "Service"}
	for range 3 {
		got, err := m.RESTMapping(svc, "v1")
		if err != nil || got.Resource.Resource != "services" {
			t.Fatalf("Service v1: %v, %v", got, err)
		}
		if _, err := m.RESTMapping(cci, "v2"); !meta.IsNoMatchError(err) {
			t.Fatalf("cci/v2 Service: %v, want no match", err)
		}
	}
	if c.calls != 2 {
		t.Errorf("%d calls to the mapper for 2 kinds asked 3 times each, want 2", c.calls)
	}
	// Another version is another question.
	if _, err := m.RESTMapping(svc, "v2"); err == nil {
		t.Error("Service v2 mapped")
	}
	if c.calls != 3 {
		t.Errorf("calls %d after a new version, want 3", c.calls)
	}

	// Discovery that cannot be read is asked again next time.
	c2 := &countingMapper{RESTMapper: base, fail: errors.New("connection refused")}
	m2 := RememberMappings(c2)
	_, _ = m2.RESTMapping(svc, "v1")
	c2.fail = nil
	if got, err := m2.RESTMapping(svc, "v1"); err != nil || got.Resource.Resource != "services" || c2.calls != 2 {
		t.Errorf("after a failed look: %v, %v, %d calls; want services from a second call", got, err, c2.calls)
	}
}
