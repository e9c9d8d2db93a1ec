package cci2

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// recorded is what the fake core server saw of one request.
type recorded struct {
	method, path, query, contentType, accept string
	header                                   http.Header
	body                                     string
}

// fakeCore answers with reply(path) and records each request.
func fakeCore(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *[]recorded) {
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Clone(), string(b)})
		reply(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func backendFor(t *testing.T, core *httptest.Server) *httptest.Server {
	u, _ := url.Parse(core.URL)
	s := httptest.NewServer(&Backend{Core: u, Transport: http.DefaultTransport})
	t.Cleanup(s.Close)
	return s
}

func do(t *testing.T, method, u, ct, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, u, raw, err)
	}
	return resp.StatusCode, m
}

func TestBackendMapsPathsAndRewritesObjects(t *testing.T) {
	core, seen := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"ns1","generation":9007199254740993,
			"ownerReferences":[{"apiVersion":"v1","kind":"Namespace","name":"x"}],
			"managedFields":[{"manager":"m","apiVersion":"apps/v1","operation":"Apply"}]},
			"spec":{"template":{"metadata":{"labels":{"app":"web"}}}}}`)
	})
	be := backendFor(t, core)
	code, obj := do(t, "GET", be.URL+"/apis/cci/v2/namespaces/ns1/deployments/web?resourceVersion=5", "", "",
		map[string]string{"Accept": "application/vnd.kubernetes.protobuf, application/json", "Impersonate-User": "admin", "X-Remote-User": "tenant", "Authorization": "Bearer tenant"})
	if code != 200 {
		t.Fatalf("code %d: %v", code, obj)
	}
	got := (*seen)[0]
	if got.path != "/apis/apps/v1/namespaces/ns1/deployments/web" || got.query != "resourceVersion=5" {
		t.Errorf("core saw %s?%s", got.path, got.query)
	}
	if got.accept != "application/json" {
		t.Errorf("core was asked for %q, want JSON only", got.accept)
	}
	for _, h := range []string{"Impersonate-User", "X-Remote-User", "Authorization"} {
		if v := got.header.Get(h); v != "" {
			t.Errorf("header %s=%q reached the core server", h, v)
		}
	}
	if obj["apiVersion"] != "cci/v2" {
		t.Errorf("apiVersion %v, want cci/v2", obj["apiVersion"])
	}
	md := obj["metadata"].(map[string]any)
	if or := md["ownerReferences"].([]any)[0].(map[string]any); or["apiVersion"] != "cci/v2" {
		t.Errorf("ownerReference apiVersion %v", or["apiVersion"])
	}
	if mf := md["managedFields"].([]any)[0].(map[string]any); mf["apiVersion"] != "cci/v2" {
		t.Errorf("managedFields apiVersion %v", mf["apiVersion"])
	}
}

func TestBackendKeepsLargeIntegers(t *testing.T) {
	core, _ := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","generation":9007199254740993}}`)
	})
	be := backendFor(t, core)
	resp, err := http.Get(be.URL + "/apis/cci/v2/namespaces/a/pods/p")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"generation":9007199254740993`) || !strings.Contains(string(raw), `"apiVersion":"cci/v2"`) {
		t.Errorf("body %s", raw)
	}
}

func TestBackendPathTable(t *testing.T) {
	core, seen := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
	})
	be := backendFor(t, core)
	for _, c := range []struct{ method, path, core string }{
		{"GET", "/apis/cci/v2/namespaces", "/api/v1/namespaces"},
		{"GET", "/apis/cci/v2/namespaces/t1", "/api/v1/namespaces/t1"},
		{"PUT", "/apis/cci/v2/namespaces/t1/finalize", "/api/v1/namespaces/t1/finalize"},
		{"GET", "/apis/cci/v2/namespaces/t1/status", "/api/v1/namespaces/t1/status"},
		{"GET", "/apis/cci/v2/pods", "/api/v1/pods"},
		{"PATCH", "/apis/cci/v2/namespaces/t1/pods/p/status", "/api/v1/namespaces/t1/pods/p/status"},
		{"GET", "/apis/cci/v2/namespaces/t1/services", "/api/v1/namespaces/t1/services"},
		{"GET", "/apis/cci/v2/namespaces/t1/replicasets", "/apis/apps/v1/namespaces/t1/replicasets"},
		{"PUT", "/apis/cci/v2/namespaces/t1/deployments/d/scale", "/apis/apps/v1/namespaces/t1/deployments/d/scale"},
		{"DELETE", "/apis/cci/v2/namespaces/t1/secrets/s", "/api/v1/namespaces/t1/secrets/s"},
		{"GET", "/apis/cci/v2/namespaces/t1/events", "/api/v1/namespaces/t1/events"},
	} {
		*seen = nil
		code, obj := do(t, c.method, be.URL+c.path, "application/json", "", nil)
		if code != 200 || len(*seen) != 1 || (*seen)[0].path != c.core {
			t.Errorf("%s %s: code %d %v, core saw %v, want %s", c.method, c.path, code, obj, *seen, c.core)
		}
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/apis/cci/v2/namespaces/t1/endpoints", 404},
		{"GET", "/apis/cci/v2/namespaces/t1/endpointslices", 404},
		{"GET", "/apis/cci/v2/namespaces/t1/pods/p/exec", 404},
		{"GET", "/apis/cci/v2/pods/p", 404},
		{"POST", "/apis/cci/v2/namespaces/t1/replicasets", 405},
		{"DELETE", "/apis/cci/v2/namespaces/t1/replicasets/r", 405},
		{"GET", "/apis/cci/v2/namespaces/kube-system", 403},
		{"GET", "/apis/cci/v2/namespaces/kube-system/pods", 403},
		{"GET", "/apis/apps/v1/namespaces/t1/deployments", 404},
	} {
		*seen = nil
		code, obj := do(t, c.method, be.URL+c.path, "", "", nil)
		if code != c.code || obj["kind"] != "Status" || len(*seen) != 0 {
			t.Errorf("%s %s: code %d (want %d) %v, core saw %v", c.method, c.path, code, c.code, obj, *seen)
		}
	}
}

func TestBackendRewritesRequestBodies(t *testing.T) {
	core, seen := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`)
	})
	be := backendFor(t, core)
	do(t, "POST", be.URL+"/apis/cci/v2/namespaces/t1/services?dryRun=All&fieldManager=x", "application/json",
		`{"apiVersion":"cci/v2","kind":"Service","metadata":{"name":"s","annotations":{"a":"{\"apiVersion\":\"cci/v2\"}"}},"spec":{"ports":[{"port":80}]}}`, nil)
	got := (*seen)[0]
	if got.query != "dryRun=All&fieldManager=x" {
		t.Errorf("query %q", got.query)
	}
	var body map[string]any
	json.Unmarshal([]byte(got.body), &body)
	if body["apiVersion"] != "v1" {
		t.Errorf("core got apiVersion %v", body["apiVersion"])
	}
	if a := body["metadata"].(map[string]any)["annotations"].(map[string]any)["a"]; a != `{"apiVersion":"cci/v2"}` {
		t.Errorf("annotation text changed: %v", a)
	}

	*seen = nil
	do(t, "PATCH", be.URL+"/apis/cci/v2/namespaces/t1/deployments/d?fieldManager=ccictl", "application/apply-patch+yaml",
		"apiVersion: cci/v2\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 2\n", nil)
	got = (*seen)[0]
	if got.contentType != "application/apply-patch+yaml" || !strings.Contains(got.body, `"apiVersion":"apps/v1"`) || !strings.Contains(got.body, `"replicas":2`) {
		t.Errorf("apply patch reached core as %s %s", got.contentType, got.body)
	}

	*seen = nil
	do(t, "PATCH", be.URL+"/apis/cci/v2/namespaces/t1/pods/p/status", "application/strategic-merge-patch+json",
		`{"status":{"conditions":[{"type":"x","status":"True"}]}}`, nil)
	if got = (*seen)[0]; got.body != `{"status":{"conditions":[{"status":"True","type":"x"}]}}` {
		t.Errorf("patch body %s", got.body)
	}
}

func TestBackendStatusNamesGroupCCI(t *testing.T) {
	core, _ := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","code":409,
			"message":"Operation cannot be fulfilled on deployments.apps \"d\": the object has been modified",
			"details":{"name":"d","group":"apps","kind":"deployments"}}`)
	})
	be := backendFor(t, core)
	code, st := do(t, "PUT", be.URL+"/apis/cci/v2/namespaces/t1/deployments/d", "application/json", `{}`, nil)
	if code != 409 || st["message"] != `Operation cannot be fulfilled on deployments.cci "d": the object has been modified` {
		t.Errorf("code %d message %v", code, st["message"])
	}
	if st["apiVersion"] != "v1" || st["details"].(map[string]any)["group"] != "cci" {
		t.Errorf("status %v", st)
	}
}

func TestBackendListAndTableDropSystemNamespaces(t *testing.T) {
	core, seen := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			w.Header().Set("Content-Type", "application/json;as=Table;v=v1;g=meta.k8s.io")
			io.WriteString(w, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[
				{"cells":["a"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"kube-system"}}},
				{"cells":["b"],"object":{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"t1"}}}]}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[
			{"metadata":{"name":"a","namespace":"kube-system"}},{"metadata":{"name":"b","namespace":"t1"}}]}`)
	})
	be := backendFor(t, core)
	_, list := do(t, "GET", be.URL+"/apis/cci/v2/pods?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning", "", "", nil)
	if q := (*seen)[0].query; q != "labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning" {
		t.Errorf("query %q", q)
	}
	items := list["items"].([]any)
	if list["apiVersion"] != "cci/v2" || len(items) != 1 || items[0].(map[string]any)["metadata"].(map[string]any)["name"] != "b" {
		t.Errorf("list %v", list)
	}
	accept := "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	_, table := do(t, "GET", be.URL+"/apis/cci/v2/namespaces", "", "", map[string]string{"Accept": accept})
	if (*seen)[1].accept != "application/json;as=Table;v=v1;g=meta.k8s.io, application/json" {
		t.Errorf("Table accept %q", (*seen)[1].accept)
	}
	rows := table["rows"].([]any)
	if table["apiVersion"] != "meta.k8s.io/v1" || len(rows) != 1 || rows[0].(map[string]any)["object"].(map[string]any)["apiVersion"] != "cci/v2" ||
		rows[0].(map[string]any)["cells"].([]any)[0] != "b" {
		t.Errorf("table %v", table)
	}
}

func TestBackendRewritesWatchStream(t *testing.T) {
	release := make(chan struct{})
	core, _ := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"ADDED","object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"t1"}}}`+"\n")
		io.WriteString(w, `{"type":"ADDED","object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"kubernetes","namespace":"kube-system"}}}`+"\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, `{"type":"BOOKMARK","object":{"apiVersion":"v1","kind":"Service","metadata":{"resourceVersion":"9"}}}`+"\n")
	})
	be := backendFor(t, core)
	resp, err := http.Get(be.URL + "/apis/cci/v2/services?watch=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	// The first event arrives before the stream ends: the backend streams.
	if !sc.Scan() {
		t.Fatal(sc.Err())
	}
	if first := sc.Text(); !strings.Contains(first, `"apiVersion":"cci/v2"`) || !strings.Contains(first, `"name":"s"`) {
		t.Errorf("first event %s", first)
	}
	close(release)
	if !sc.Scan() {
		t.Fatal(sc.Err())
	}
	if next := sc.Text(); !strings.Contains(next, "BOOKMARK") || !strings.Contains(next, `"cci/v2"`) {
		t.Errorf("system namespace event not dropped or bookmark not rewritten: %s", next)
	}
}

func TestBackendDiscovery(t *testing.T) {
	be := backendFor(t, httptest.NewServer(http.NotFoundHandler()))
	_, rl := do(t, "GET", be.URL+"/apis/cci/v2", "", "", nil)
	names := map[string]map[string]any{}
	for _, r := range rl["resources"].([]any) {
		m := r.(map[string]any)
		names[m["name"].(string)] = m
	}
	for _, n := range []string{"namespaces", "services", "pods", "pods/status", "deployments", "deployments/scale", "replicasets", "configmaps", "secrets", "events"} {
		if names[n] == nil {
			t.Errorf("discovery lacks %s", n)
		}
	}
	if v := names["replicasets"]["verbs"].([]any); len(v) != 3 {
		t.Errorf("replicasets verbs %v, want read-only", v)
	}
	if names["services"]["shortNames"].([]any)[0] != "svc" {
		t.Errorf("services short names %v", names["services"]["shortNames"])
	}
}

func TestGatewayShowsTenantGroupsOnly(t *testing.T) {
	core, seen := fakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/apis":
			w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
			w.Header().Set("Etag", "abc")
			io.WriteString(w, `{"kind":"APIGroupDiscoveryList","items":[{"metadata":{"name":"apps"}},{"metadata":{"name":"cci"}},
				{"metadata":{"name":"discovery.k8s.io"}},{"metadata":{"name":"loadbalancer.networking.openvessel.io"}}]}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"kind":"PoolBindingList","apiVersion":"loadbalancer.networking.openvessel.io/v1","items":[]}`)
		}
	})
	u, _ := url.Parse(core.URL)
	gw := httptest.NewServer(&Gateway{Core: u, Transport: http.DefaultTransport})
	defer gw.Close()
	_, disc := do(t, "GET", gw.URL+"/apis", "", "", map[string]string{"Accept": "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", "Accept-Encoding": "gzip"})
	var got []string
	for _, it := range disc["items"].([]any) {
		got = append(got, it.(map[string]any)["metadata"].(map[string]any)["name"].(string))
	}
	if strings.Join(got, ",") != "cci,loadbalancer.networking.openvessel.io" {
		t.Errorf("groups %v", got)
	}
	if strings.Contains((*seen)[0].accept, "protobuf") {
		t.Errorf("discovery asked core for %q", (*seen)[0].accept)
	}
	*seen = nil
	for _, p := range []string{"/api", "/api/v1/namespaces/kube-system", "/apis/apps/v1/deployments", "/apis/discovery.k8s.io/v1/endpointslices"} {
		if code, _ := do(t, "GET", gw.URL+p, "", "", nil); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if len(*seen) != 0 {
		t.Errorf("hidden groups reached core: %v", *seen)
	}
	code, _ := do(t, "GET", gw.URL+"/apis/loadbalancer.networking.openvessel.io/v1/poolbindings", "", "", map[string]string{"Authorization": "Bearer tenant"})
	if code != 200 || (*seen)[0].header.Get("Authorization") != "Bearer tenant" {
		t.Errorf("tenant request: %d, core saw %v", code, *seen)
	}
}
