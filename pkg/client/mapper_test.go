package client

import (
	"net/http"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// discoveryServer serves core v1 with one resource, or fails every request.
func discoveryServer(t *testing.T, fail bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "discovery is down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			_, _ = w.Write([]byte(`{"kind":"APIVersions","versions":["v1"]}`))
		case "/apis":
			_, _ = w.Write([]byte(`{"kind":"APIGroupList","groups":[]}`))
		case "/api/v1":
			_, _ = w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"],"shortNames":["ns"]}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMapperReportsDiscoveryFailure(t *testing.T) {
	srv := discoveryServer(t, true)
	t.Setenv("HOME", t.TempDir())
	g := NewGetter(&ConnectionOptions{Server: srv.URL})
	m, err := g.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.RESTMapping(schema.GroupKind{Kind: "Namespace"}, "v1")
	if err == nil || meta.IsNoMatchError(err) {
		t.Fatalf("want the discovery error, got %v", err)
	}
	if !apierrors.IsServiceUnavailable(err) {
		t.Errorf("want the server's 503 from discovery, got %T: %v", err, err)
	}
}

func TestMapperNoMatchForUnknownTypeOnHealthyServer(t *testing.T) {
	srv := discoveryServer(t, false)
	t.Setenv("HOME", t.TempDir())
	g := NewGetter(&ConnectionOptions{Server: srv.URL})
	m, err := g.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ResourceFor(schema.GroupVersionResource{Resource: "ns"}); err != nil {
		t.Fatalf("short name ns: %v", err)
	}
	_, err = m.ResourceFor(schema.GroupVersionResource{Resource: "widgets"})
	if !meta.IsNoMatchError(err) {
		t.Fatalf("unknown type: want a no-match error, got %v", err)
	}
}
