package cci2

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// TenantGroups are the API groups a tenant sees through the Gateway: the
// CCI 2.0 API, PoolBindings, and coordination.k8s.io for the Leases of
// sync --watch's leader election and pool locks (an assumption of this
// flavour: CCI 2.0 documents no Lease API).
var TenantGroups = []string{Group, "loadbalancer.networking.openvessel.io", "coordination.k8s.io"}

// Gateway forwards a tenant's requests to the kube-apiserver at Core
// unchanged (their own credentials; Transport trusts Core's CA and adds
// none), except that discovery lists TenantGroups only and every other
// group, core v1 included, is not found, as on CCI 2.0's endpoint.
type Gateway struct {
	Core      *url.URL
	Transport http.RoundTripper
}

func (g *Gateway) visible(group string) bool {
	for _, t := range TenantGroups {
		if t == group {
			return true
		}
	}
	return false
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	if strings.HasPrefix(p, "/apis/") {
		group := strings.SplitN(strings.TrimPrefix(p, "/apis/"), "/", 2)[0]
		if !g.visible(group) {
			writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
			return
		}
	}
	filter := strings.TrimSuffix(p, "/") == "/apis"
	proxy := &httputil.ReverseProxy{
		Transport:     g.Transport,
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(g.Core)
			pr.Out.URL.Path, pr.Out.URL.RawPath = r.URL.Path, r.URL.RawPath
			pr.Out.Host = g.Core.Host
			if filter {
				// The group list is rewritten here, so it must come as JSON,
				// uncompressed.
				pr.Out.Header.Del("Accept-Encoding")
				pr.Out.Header.Set("Accept", jsonAccept(pr.In.Header.Get("Accept")))
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if !filter || resp.StatusCode != http.StatusOK {
				return nil
			}
			mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if mt != "application/json" {
				return nil
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			out := g.filterGroups(raw)
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			resp.Header.Del("Etag")
			return nil
		},
	}
	proxy.ServeHTTP(w, r)
}

// filterGroups keeps the visible groups of an APIGroupList ("groups") or of
// aggregated discovery ("items").
func (g *Gateway) filterGroups(raw []byte) []byte {
	v, err := decodeJSON(raw)
	if err != nil {
		return raw
	}
	m, ok := v.(map[string]any)
	if !ok {
		return raw
	}
	for _, key := range []string{"groups", "items"} {
		list, ok := m[key].([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, e := range list {
			em, _ := e.(map[string]any)
			name, _ := em["name"].(string)
			if md, ok := em["metadata"].(map[string]any); ok && name == "" {
				name, _ = md["name"].(string)
			}
			if g.visible(name) {
				kept = append(kept, e)
			}
		}
		m[key] = kept
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
