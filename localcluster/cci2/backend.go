package cci2

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Backend serves /apis/cci/v2 as views of the core and apps resources of
// the kube-apiserver at Core, which it calls with Transport (the
// privileged identity: Transport adds its credentials).
type Backend struct {
	Core      *url.URL
	Transport http.RoundTripper
}

// ServeHTTP serves discovery itself and proxies every resource request.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := strings.TrimSuffix(r.URL.Path, "/"); p {
	case "/apis":
		writeJSON(w, http.StatusOK, apiGroupList())
		return
	case "/apis/" + Group:
		writeJSON(w, http.StatusOK, apiGroup())
		return
	case pathPrefix:
		writeJSON(w, http.StatusOK, apiResourceList())
		return
	case "/healthz", "/readyz", "/livez":
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok")
		return
	}
	if !strings.HasPrefix(r.URL.Path, pathPrefix+"/") {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	target, res, status := b.mapPath(r)
	if status != nil {
		writeJSON(w, int(status["code"].(int)), status)
		return
	}
	if err := rewriteRequestBody(r); err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
		return
	}
	watch := isWatch(r.URL.Query())
	proxy := &httputil.ReverseProxy{
		Transport:     b.Transport,
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = b.Core.Scheme, b.Core.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = target, ""
			pr.Out.Host = b.Core.Host
			// Only what the stored resource's server needs travels on: the
			// caller was authenticated and authorized upstream, and
			// identity or impersonation headers must not reach the core
			// server with this backend's privileges.
			keep := http.Header{}
			for _, h := range []string{"Content-Type", "User-Agent"} {
				if v := pr.In.Header.Get(h); v != "" {
					keep.Set(h, v)
				}
			}
			keep.Set("Accept", jsonAccept(pr.In.Header.Get("Accept")))
			pr.Out.Header = keep
		},
		ModifyResponse: func(resp *http.Response) error {
			if !isJSON(resp.Header.Get("Content-Type")) {
				return nil
			}
			if watch && resp.StatusCode == http.StatusOK {
				resp.Body = rewriteWatchStream(resp.Body, res)
				resp.Header.Del("Content-Length")
				return nil
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			v, err := decodeJSON(raw)
			if err != nil {
				resp.Body = io.NopCloser(bytes.NewReader(raw))
				return nil
			}
			dropSystemItems(v, res)
			rewriteToCCI(v)
			out, err := json.Marshal(v)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "cci/v2 backend: "+err.Error(), nil)
		},
	}
	proxy.ServeHTTP(w, r)
}

// mapPath maps a /apis/cci/v2 path to the stored resource's path, or gives
// the Status to answer instead.
func (b *Backend) mapPath(r *http.Request) (string, *resource, map[string]any) {
	rest := strings.TrimPrefix(r.URL.Path, pathPrefix+"/")
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	resName, ns := parts[0], ""
	sub := ""
	switch {
	case parts[0] == "namespaces" && len(parts) >= 2:
		ns = parts[1]
		if len(parts) >= 3 && parts[2] != "status" && parts[2] != "finalize" {
			resName = parts[2]
			if len(parts) >= 5 {
				sub = parts[4]
			}
			if len(parts) > 5 {
				sub = "-"
			}
		} else if len(parts) == 3 {
			sub = parts[2]
		} else if len(parts) > 3 {
			sub = "-"
		}
	case len(parts) > 1:
		// A cluster-wide path names no object: /apis/cci/v2/pods lists
		// every namespace's pods; anything longer is not served.
		sub = "-"
	}
	res, ok := byName[resName]
	if !ok || (sub != "" && !res.hasSubresource(sub)) {
		return "", nil, statusObject(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	if res.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", nil, statusObject(http.StatusMethodNotAllowed, "MethodNotAllowed",
			fmt.Sprintf("%s.%s is read-only on CCI 2.0 (query only)", res.name, Group), nil)
	}
	if ns != "" && systemNamespace(ns) {
		return "", nil, statusObject(http.StatusForbidden, "Forbidden",
			fmt.Sprintf("namespace %q is not a tenant namespace", ns), map[string]any{"name": ns, "group": Group, "kind": "namespaces"})
	}
	return res.corePrefix() + "/" + rest, res, nil
}

// rewriteRequestBody gives a cci/v2 body its stored apiVersions. Apply
// patches in YAML become JSON (which is YAML too).
func rewriteRequestBody(r *http.Request) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	raw, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return err
	}
	switch {
	case ct == "application/apply-patch+yaml" || ct == "application/yaml":
		if raw, err = yaml.YAMLToJSON(raw); err != nil {
			return fmt.Errorf("cannot read the YAML body: %v", err)
		}
		if ct == "application/yaml" {
			r.Header.Set("Content-Type", "application/json")
		}
	case strings.Contains(ct, "protobuf") || strings.Contains(ct, "cbor"):
		return fmt.Errorf("cci/v2 accepts JSON or YAML bodies, not %s", ct)
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		v, err := decodeJSON(raw)
		if err != nil {
			return fmt.Errorf("cannot read the JSON body: %v", err)
		}
		rewriteToCore(v)
		if raw, err = json.Marshal(v); err != nil {
			return err
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	r.ContentLength = int64(len(raw))
	r.Header.Set("Content-Length", strconv.Itoa(len(raw)))
	return nil
}

// rewriteWatchStream rewrites a JSON watch stream event by event, dropping
// the events of objects in system namespaces.
func rewriteWatchStream(in io.ReadCloser, res *resource) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		defer in.Close()
		d := json.NewDecoder(bufio.NewReader(in))
		d.UseNumber()
		for {
			var ev map[string]any
			if err := d.Decode(&ev); err != nil {
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
			if obj, ok := ev["object"].(map[string]any); ok && ev["type"] != "ERROR" && ev["type"] != "BOOKMARK" {
				if systemNamespace(namespaceOf(obj, res)) {
					continue
				}
			}
			rewriteToCCI(ev)
			out, err := json.Marshal(ev)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(append(out, '\n')); err != nil {
				return
			}
		}
	}()
	return struct {
		io.Reader
		io.Closer
	}{pr, closers{pr, in}}
}

type closers []io.Closer

func (c closers) Close() error {
	for _, x := range c {
		_ = x.Close()
	}
	return nil
}

func isWatch(q url.Values) bool {
	w := q.Get("watch")
	return w == "true" || w == "1"
}

func isJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json"
}

// jsonAccept keeps the JSON entries of an Accept header (Table requests
// included): the backend rewrites JSON only.
func jsonAccept(accept string) string {
	var kept []string
	for _, e := range strings.Split(accept, ",") {
		e = strings.TrimSpace(e)
		mt, _, err := mime.ParseMediaType(e)
		if err != nil || e == "" {
			continue
		}
		if mt == "application/json" || mt == "*/*" || mt == "application/*" {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return "application/json"
	}
	return strings.Join(kept, ", ")
}

func statusObject(code int, reason, msg string, details map[string]any) map[string]any {
	st := map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code}
	if details != nil {
		st["details"] = details
	}
	return st
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string, details map[string]any) {
	writeJSON(w, code, statusObject(code, reason, msg, details))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
