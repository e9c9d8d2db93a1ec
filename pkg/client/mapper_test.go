package client

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// realServer connects to the package's real API server.
func realServer() *ConnectionOptions {
	return &ConnectionOptions{Server: cluster.Server, Token: cluster.Token, CertificateAuthority: cluster.CAFile}
}

// When discovery fails, the mapper reports the server's error, not "no
// match": the real server answers, a proxy in front of it fails discovery.
func TestMapperReportsDiscoveryFailure(t *testing.T) {
	var discoveryCalls atomic.Int32
	proxy, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api" || r.URL.Path == "/apis" || strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/apis/") {
			discoveryCalls.Add(1)
			http.Error(w, "discovery is down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	t.Setenv("HOME", t.TempDir())
	g := NewGetter(&ConnectionOptions{Server: proxy.URL})
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
	if discoveryCalls.Load() == 0 {
		t.Error("the mapper never asked for discovery")
	}
}

func TestMapperNoMatchForUnknownTypeOnHealthyServer(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	g := NewGetter(realServer())
	m, err := g.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	for short, want := range map[string]schema.GroupVersionResource{
		"ns":  {Version: "v1", Resource: "namespaces"},
		"plb": {Group: "loadbalancer.networking.openvessel.io", Version: "v1", Resource: "poolbindings"},
	} {
		got, err := m.ResourceFor(schema.GroupVersionResource{Resource: short})
		if err != nil || got != want {
			t.Errorf("short name %s: %v, %v; want %v", short, got, err, want)
		}
	}
	_, err = m.ResourceFor(schema.GroupVersionResource{Resource: "widgets"})
	if !meta.IsNoMatchError(err) {
		t.Fatalf("unknown type: want a no-match error, got %v", err)
	}
}
