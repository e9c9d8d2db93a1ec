package bindingsource

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RememberMappings returns m answering RESTMapping from memory after the
// first call for a kind and versions: a pass resolves the Service and Pod
// resources of every binding, and where the server does not serve a kind
// (no cci/v2 API), each miss costs m a look at discovery (the kubeconfig's
// disk cache), thousands of times for a large cluster. Answers and "no
// match" are remembered, other errors (discovery unreachable) are not.
// The controller keeps one for its lifetime, as its informers' resources
// are chosen at start; a one-shot pass, one per pass (NewResolver).
func RememberMappings(m meta.RESTMapper) meta.RESTMapper {
	if _, ok := m.(*rememberedMappings); ok {
		return m
	}
	return &rememberedMappings{RESTMapper: m, answers: map[string]mappingAnswer{}}
}

type rememberedMappings struct {
	meta.RESTMapper
	mu      sync.Mutex
	answers map[string]mappingAnswer
}

type mappingAnswer struct {
	mapping *meta.RESTMapping
	err     error
}

func (r *rememberedMappings) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	key := gk.String() + "|" + strings.Join(versions, ",")
	r.mu.Lock()
	a, ok := r.answers[key]
	r.mu.Unlock()
	if ok {
		return a.mapping, a.err
	}
	m, err := r.RESTMapper.RESTMapping(gk, versions...)
	if err == nil || meta.IsNoMatchError(err) {
		r.mu.Lock()
		r.answers[key] = mappingAnswer{m, err}
		r.mu.Unlock()
	}
	return m, err
}
