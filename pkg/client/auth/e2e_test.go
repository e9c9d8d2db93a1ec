package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/client/auth/iamtest"
)

const upstreamBearer = "upstream-bearer-secret"

var alice = iamtest.User{
	Domain: "acct", Name: "alice", Password: "Alice-pw-9f8e7d",
	ProjectName: "cn-north-4", ProjectID: "0a1b2c3d4e5f",
	AK: "AKALICE0000000001", SK: "SKalice-very-secret-0001",
}

// fakeAPIServer is a tiny stand-in for kube-apiserver behind the gateway: it
// insists on the gateway's bearer token and on seeing no CCI auth header.
type fakeAPIServer struct {
	mu       sync.Mutex
	requests []string
	bad      []string
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	for _, h := range []string{"X-Auth-Token", "X-Sdk-Date", "X-Project-Id", "X-Sdk-Content-Sha256"} {
		if r.Header.Get(h) != "" {
			f.bad = append(f.bad, h+" forwarded")
		}
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+upstreamBearer {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ns := corev1.Namespace{TypeMeta: metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"}}
	code := http.StatusOK
	switch {
	case r.Method == http.MethodPost:
		if err := json.Unmarshal(body, &ns); err != nil {
			http.Error(w, "body is not JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		code = http.StatusCreated
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces":
		list := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"},
			Items: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "sel-" + r.URL.Query().Get("labelSelector")}}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
		return
	default:
		ns.Name = strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/")
		if r.Method == http.MethodPatch {
			ns.Labels = map[string]string{"patched": "true"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(ns)
}

type env struct {
	iam      *iamtest.Server
	api      *fakeAPIServer
	gateway  *httptest.Server
	cacheDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{iam: iamtest.New(alice), api: &fakeAPIServer{}, cacheDir: t.TempDir()}
	t.Cleanup(e.iam.Close)
	up := httptest.NewServer(e.api)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	e.gateway = httptest.NewServer(iamtest.NewGatewayProxy(u, nil, upstreamBearer, e.iam))
	t.Cleanup(e.gateway.Close)
	// Register resets the plugin's per-process Credentials, so each test (and
	// each "process" inside a test) starts cold.
	if err := auth.Register(auth.Options{CacheDir: e.cacheDir, Getenv: func(string) string { return "" }}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) providerConfig(kv ...string) map[string]string {
	m := map[string]string{"iam-endpoint": e.iam.URL, "project-name": alice.ProjectName, "domain-name": alice.Domain, "cache": "true"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func (e *env) clientset(t *testing.T, cfg map[string]string) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host:         e.gateway.URL,
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: auth.ProviderName, Config: cfg},
		// JSON bodies are hashed into the signature (other content types are
		// sent as UNSIGNED-PAYLOAD, which the PATCH covers).
		ContentConfig: rest.ContentConfig{ContentType: "application/json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// exercise sends a GET, a LIST with a query, a JSON POST and a merge PATCH,
// which covers query, JSON body and UNSIGNED-PAYLOAD signing.
func exercise(t *testing.T, cs *kubernetes.Clientset) {
	t.Helper()
	ctx := context.Background()
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "test-ns", metav1.GetOptions{})
	if err != nil || ns.Name != "test-ns" {
		t.Fatalf("get: %v %v", ns, err)
	}
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app in (a,b)"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "sel-app in (a,b)" {
		t.Fatalf("list: %v %v", list, err)
	}
	created, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "new-ns"}}, metav1.CreateOptions{})
	if err != nil || created.Name != "new-ns" {
		t.Fatalf("create: %v %v", created, err)
	}
	patched, err := cs.CoreV1().Namespaces().Patch(ctx, "test-ns", types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"true"}}}`), metav1.PatchOptions{})
	if err != nil || patched.Labels["patched"] != "true" {
		t.Fatalf("patch: %v %v", patched, err)
	}
}

func (e *env) checkForwarded(t *testing.T, n int) {
	t.Helper()
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	if len(e.api.bad) > 0 {
		t.Fatalf("gateway forwarded CCI headers: %v", e.api.bad)
	}
	if len(e.api.requests) != n {
		t.Fatalf("upstream saw %d requests, want %d: %v", len(e.api.requests), n, e.api.requests)
	}
}

func TestAKSKSigning(t *testing.T) {
	e := newEnv(t)
	cs := e.clientset(t, e.providerConfig("ak", alice.AK, "sk", alice.SK))
	exercise(t, cs)
	e.checkForwarded(t, 4)
	c := e.iam.Calls()
	// The four API calls and the project lookup were all signed.
	if c.VerifiedAKSK != 5 || c.Rejected != 0 || c.VerifiedToken != 0 {
		t.Fatalf("calls = %+v", c)
	}
	// The project id is resolved once per process, then from the disk cache.
	if c.ProjectLookups != 1 {
		t.Fatalf("project lookups = %d, want 1", c.ProjectLookups)
	}
	if err := auth.Register(auth.Options{CacheDir: e.cacheDir}); err != nil {
		t.Fatal(err)
	}
	exercise(t, e.clientset(t, e.providerConfig("ak", alice.AK, "sk", alice.SK)))
	if c := e.iam.Calls(); c.ProjectLookups != 1 {
		t.Fatalf("second process looked the project up again: %+v", c)
	}
}

func TestAKSKWithProjectIDSkipsLookup(t *testing.T) {
	e := newEnv(t)
	exercise(t, e.clientset(t, e.providerConfig("ak", alice.AK, "sk", alice.SK, "project-id", alice.ProjectID)))
	if c := e.iam.Calls(); c.ProjectLookups != 0 || c.VerifiedAKSK != 4 {
		t.Fatalf("calls = %+v", c)
	}
}

func TestAKSKWrongSecretIsUnauthorized(t *testing.T) {
	e := newEnv(t)
	cs := e.clientset(t, e.providerConfig("ak", alice.AK, "sk", "wrong-sk", "project-id", alice.ProjectID))
	_, err := cs.CoreV1().Namespaces().Get(context.Background(), "x", metav1.GetOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("err = %v, want Unauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong-sk") {
		t.Fatal("error shows the secret key")
	}
	// Signed for another project than the key's: refused too.
	cs = e.clientset(t, e.providerConfig("ak", alice.AK, "sk", alice.SK, "project-id", "other"))
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "x", metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("err = %v, want Unauthorized", err)
	}
	e.checkForwarded(t, 0)
}

func TestGivenToken(t *testing.T) {
	e := newEnv(t)
	tok := e.iam.IssueToken(alice)
	exercise(t, e.clientset(t, e.providerConfig("token", tok)))
	e.checkForwarded(t, 4)
	if c := e.iam.Calls(); c.VerifiedToken != 4 || c.TokensIssued != 0 {
		t.Fatalf("calls = %+v", c)
	}
	// A revoked given token cannot be refreshed: the 401 reaches the caller.
	e.iam.RevokeTokens()
	_, err := e.clientset(t, e.providerConfig("token", tok)).CoreV1().Namespaces().Get(context.Background(), "x", metav1.GetOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestPasswordLoginCachesTokenOnDisk(t *testing.T) {
	e := newEnv(t)
	cfg := e.providerConfig("username", alice.Name, "password", alice.Password)
	exercise(t, e.clientset(t, cfg))
	if c := e.iam.Calls(); c.TokensIssued != 1 || c.VerifiedToken != 4 {
		t.Fatalf("calls = %+v", c)
	}
	dir := filepath.Join(e.cacheDir, "iam")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache dir: %v %v", entries, err)
	}
	di, _ := os.Stat(dir)
	fi, _ := entries[0].Info()
	if di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("modes: dir %v file %v", di.Mode().Perm(), fi.Mode().Perm())
	}
	data, _ := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if strings.Contains(string(data), alice.Password) || strings.Contains(entries[0].Name(), alice.Name) {
		t.Fatal("cache file holds the password or names the user in its file name")
	}

	// A new "process" (fresh plugin state) reuses the cached token.
	if err := auth.Register(auth.Options{CacheDir: e.cacheDir}); err != nil {
		t.Fatal(err)
	}
	exercise(t, e.clientset(t, cfg))
	if c := e.iam.Calls(); c.TokensIssued != 1 {
		t.Fatalf("second process logged in again: %+v", c)
	}
}

func TestPasswordCacheDisabled(t *testing.T) {
	e := newEnv(t)
	cfg := e.providerConfig("username", alice.Name, "password", alice.Password, "cache", "false")
	exercise(t, e.clientset(t, cfg))
	// Within one process the token is kept in memory...
	exercise(t, e.clientset(t, cfg))
	if c := e.iam.Calls(); c.TokensIssued != 1 {
		t.Fatalf("calls = %+v", c)
	}
	// ...but nothing is written, so the next process logs in again.
	if _, err := os.Stat(filepath.Join(e.cacheDir, "iam")); !os.IsNotExist(err) {
		t.Fatalf("cache dir exists with cache=false: %v", err)
	}
	_ = auth.Register(auth.Options{CacheDir: e.cacheDir})
	exercise(t, e.clientset(t, cfg))
	if c := e.iam.Calls(); c.TokensIssued != 2 {
		t.Fatalf("calls = %+v", c)
	}
}

func TestPasswordTokenRefreshedBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	e.iam.SetTokenTTL(time.Hour)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	creds, err := auth.CredentialsFromProviderConfig(e.providerConfig("username", alice.Name, "password", alice.Password),
		auth.Options{CacheDir: e.cacheDir, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: creds.WrapTransport(nil)}
	get := func() {
		t.Helper()
		resp, err := hc.Get(e.gateway.URL + "/api/v1/namespaces/a")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("get: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	get()
	mu.Lock()
	now = now.Add(50 * time.Minute) // 10 min left: still used
	mu.Unlock()
	get()
	if c := e.iam.Calls(); c.TokensIssued != 1 {
		t.Fatalf("calls = %+v", c)
	}
	mu.Lock()
	now = now.Add(6 * time.Minute) // 4 min left: replaced
	mu.Unlock()
	get()
	if c := e.iam.Calls(); c.TokensIssued != 2 {
		t.Fatalf("token not refreshed near expiry: %+v", c)
	}
	pid, err := creds.ProjectID(context.Background())
	if err != nil || pid != alice.ProjectID {
		t.Fatalf("project id from token = %q %v", pid, err)
	}
}

func TestPasswordTokenRefreshedOnceOn401(t *testing.T) {
	e := newEnv(t)
	cs := e.clientset(t, e.providerConfig("username", alice.Name, "password", alice.Password))
	exercise(t, cs)
	e.iam.RevokeTokens() // IAM invalidates tokens, e.g. after a permission change
	exercise(t, cs)      // each call (POST with a body included) must succeed after one re-login
	c := e.iam.Calls()
	if c.TokensIssued != 2 || c.Rejected != 1 {
		t.Fatalf("calls = %+v", c)
	}
	e.checkForwarded(t, 8)
}

func TestWrongPasswordError(t *testing.T) {
	e := newEnv(t)
	cs := e.clientset(t, e.providerConfig("username", alice.Name, "password", "not-Alice-pw"))
	_, err := cs.CoreV1().Namespaces().Get(context.Background(), "x", metav1.GetOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "not-Alice-pw") || !strings.Contains(msg, `user "alice"`) || !strings.Contains(msg, "HTTP 401") {
		t.Fatalf("error = %q", msg)
	}
	if c := e.iam.Calls(); c.TokensRefused != 1 {
		t.Fatalf("calls = %+v", c)
	}
	e.checkForwarded(t, 0)
}

func TestBadProviderConfigFailsClientCreation(t *testing.T) {
	e := newEnv(t)
	_, err := kubernetes.NewForConfig(&rest.Config{
		Host:         e.gateway.URL,
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: auth.ProviderName, Config: e.providerConfig("ak", "AKONLY")},
	})
	if err == nil || !strings.Contains(err.Error(), "iam auth-provider: ak is set but sk is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegisterTwice(t *testing.T) {
	if err := auth.Register(auth.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := auth.Register(auth.Options{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}
