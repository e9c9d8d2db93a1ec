package main_test

// Authentication end to end: every mode ccictl supports, each against the
// real kube-apiserver. The CCI modes (IAM token, password login, AK/SK) go
// through iamtest's API-gateway double, which runs in this test process in
// front of the real server, so a request only reaches Kubernetes when the
// gateway accepted its CCI credentials.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/client/auth/iamtest"
)

// iamUser is the IAM account of the CCI-mode tests. Every secret is long and
// distinctive so a leak into any output is found by a plain substring search.
var iamUser = iamtest.User{
	Domain: "e2e-account", Name: "e2e-user", Password: "E2e-Passw0rd-5d1c9a7e",
	ProjectName: "cn-north-4", ProjectID: "0f9e8d7c6b5a49382716",
	AK: "AKE2E7Q3ZXN0000000001", SK: "SKe2e-9f3b1c7d5e2a4b6c8d0e1f2a3b4c5d6e",
}

// gateway is iamtest's IAM server plus its API gateway, serving TLS, in front
// of the local kube-apiserver.
type gateway struct {
	iam   *iamtest.Server
	url   string
	caPEM []byte // the gateway's self-signed certificate, for certificate-authority-data
}

func startGateway(t *testing.T, users ...iamtest.User) *gateway {
	t.Helper()
	iam := iamtest.New(users...)
	t.Cleanup(iam.Close)
	upstream, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(cluster.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", cluster.CAFile)
	}
	// The gateway verifies the API server as any client must.
	upTransport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	srv := httptest.NewTLSServer(iamtest.NewGatewayProxy(upstream, upTransport, cluster.Token, iam))
	t.Cleanup(srv.Close)
	return &gateway{
		iam:   iam,
		url:   srv.URL,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
	}
}

// providerConfig is the iam auth-provider block for u in one mode; kv adds
// or (with an empty value) removes keys.
func (g *gateway) providerConfig(kv ...string) map[string]string {
	m := map[string]string{"iam-endpoint": g.iam.URL}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// writeCLIConfig writes a vendor-style cliconfig: one cluster (server, CA
// data), one user, one context in namespace ns made current.
func writeCLIConfig(t *testing.T, server string, caPEM []byte, ns string, user *clientcmdapi.AuthInfo) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cci"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["cci-user"] = user
	cfg.Contexts["cci"] = &clientcmdapi.Context{Cluster: "cci", AuthInfo: "cci-user", Namespace: ns}
	cfg.CurrentContext = "cci"
	p := filepath.Join(t.TempDir(), "cliconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func iamAuthInfo(cfg map[string]string) *clientcmdapi.AuthInfo {
	return &clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "iam", Config: cfg}}
}

// assertNoSecrets fails if any secret shows up in a run's output.
func assertNoSecrets(t *testing.T, what string, r result, secrets ...string) {
	t.Helper()
	out := r.Stdout + r.Stderr
	for _, s := range secrets {
		if s == "" {
			t.Fatalf("%s: an empty secret cannot be checked", what)
		}
		if strings.Contains(out, s) {
			t.Errorf("%s: output contains the secret %.6s…:\n%s", what, s, r)
		}
	}
}

// assertConfigViewRedacted checks `config view` hides secrets and `--raw`
// still shows them (so the redaction is real, not the secret being absent).
func assertConfigViewRedacted(t *testing.T, cfg string, secrets ...string) {
	t.Helper()
	v := mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", cfg, "config", "view"))
	assertNoSecrets(t, "config view", v, secrets...)
	if !strings.Contains(v.Stdout, "REDACTED") {
		t.Errorf("config view shows no REDACTED marker:\n%s", v.Stdout)
	}
	raw := mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", cfg, "config", "view", "--raw"))
	for _, s := range secrets {
		if !strings.Contains(raw.Stdout, s) {
			t.Errorf("config view --raw lacks a secret the file holds (%.6s…)", s)
		}
	}
}

// errUnauthorized is what kubectl (and so ccictl) prints when the server
// answers 401 to discovery: client-go's discovery reads the body raw, so the
// server's own message shows only in -v=9 logs.
const errUnauthorized = "error: You must be logged in to the server (the server has asked for the client to provide credentials)"

// assertLogsRequests makes sure a -v=9 run really logged its HTTP traffic,
// so that "no secret in the log" is not true merely because there was no log.
// (client-go logs a request before the auth-provider adds X-Auth-Token or the
// signature; the redact filter is the backstop for everything else.)
func assertLogsRequests(t *testing.T, r result) {
	t.Helper()
	if !strings.Contains(r.Stderr, `"Response Body"`) || !strings.Contains(r.Stderr, "curl -v -XGET") {
		t.Errorf("-v=9 did not log requests and responses:\n%s", r.Stderr)
	}
}

// lastLine is the final line of s, the one error message after any logs.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// plbManifest is testdata's PoolBinding under another name and namespace.
func plbManifest(t *testing.T, ns, name string) string {
	t.Helper()
	return strings.NewReplacer("test-ns", ns, "test-c1", name).Replace(mustRead(t, "testdata/poolbinding.yaml"))
}

// TestAuthBearerToken: --server/--token/--certificate-authority with no
// config file at all, a refused token, and TLS verification.
func TestAuthBearerToken(t *testing.T) {
	// HOME empty and no CLICONFIG/KUBECONFIG: there is no config file to read.
	noConfig := []string{"HOME=", "XDG_CONFIG_HOME="}
	run := func(args ...string) result {
		return runIn(t, "", noConfig, ccictlBin, args...)
	}

	r := mustSucceed(t, run("--server", cluster.Server, "--token", cluster.Token, "--certificate-authority", cluster.CAFile,
		"get", "namespaces", "-o", "name"))
	if !strings.Contains(r.Stdout, "namespace/default\n") {
		t.Errorf("get namespaces without a config file: %s", r)
	}

	// A wrong token is refused by the server: exit 1 and the message kubectl
	// prints for the same refusal (the token itself never printed).
	const wrong = "wrong-token-0123456789abcdef"
	args := []string{"--server", cluster.Server, "--token", wrong, "--certificate-authority", cluster.CAFile, "get", "namespaces"}
	r = run(args...)
	if r.Code != 1 || !strings.HasPrefix(lastLine(r.Stderr), "error: You must be logged in to the server (") {
		t.Errorf("wrong token: %s", r)
	}
	k := runIn(t, "", noConfig, kubectlPath(t), args...)
	if lastLine(r.Stderr) != lastLine(k.Stderr) || k.Code != r.Code {
		t.Errorf("wrong token: ccictl says %q (exit %d), kubectl %q (exit %d)", lastLine(r.Stderr), r.Code, lastLine(k.Stderr), k.Code)
	}
	assertNoSecrets(t, "wrong token", r, wrong)

	// TLS is verified: the cluster's CA is not in the system pool.
	r = run("--server", cluster.Server, "--token", cluster.Token, "get", "namespaces")
	if r.Code != 1 || !strings.Contains(r.Stderr, "x509: certificate signed by unknown authority") ||
		!strings.HasPrefix(lastLine(r.Stderr), "Unable to connect to the server: ") {
		t.Errorf("no CA given: want a certificate error, got %s", r)
	}
	// …unless the user opts out.
	r = mustSucceed(t, run("--server", cluster.Server, "--token", cluster.Token, "--insecure-skip-tls-verify",
		"get", "namespace", "default", "-o", "name"))
	if r.Stdout != "namespace/default\n" {
		t.Errorf("--insecure-skip-tls-verify: %s", r)
	}

	// -v=9 logs every request, but never the bearer token.
	r = mustSucceed(t, run("--server", cluster.Server, "--token", cluster.Token, "--certificate-authority", cluster.CAFile,
		"-v=9", "get", "namespace", "default"))
	if !strings.Contains(r.Stderr, "Authorization: Bearer <masked>") {
		t.Errorf("-v=9 does not log the (masked) request headers, so the check below proves nothing:\n%s", r.Stderr)
	}
	assertNoSecrets(t, "-v=9 with --token", r, cluster.Token)
	assertConfigViewRedacted(t, writeCLIConfig(t, cluster.Server, mustReadBytes(t, cluster.CAFile), "default",
		&clientcmdapi.AuthInfo{Token: cluster.Token}), cluster.Token)
}

// TestAuthExecPlugin: client certificates need the API server started with
// --client-ca-file, which the local cluster is not (changing it would mean
// rebuilding the cached control plane), so client-go's other credential
// mechanism is tested instead: an exec plugin that prints an ExecCredential.
func TestAuthExecPlugin(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	// The plugin records each call, so the test knows the token came from it.
	plugin := writeScript(t, dir, "credential-plugin", `#!/bin/sh
echo call >> `+calls+`
cat <<EOF
{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"$PLUGIN_TOKEN"}}
EOF
`)
	user := func(token string) *clientcmdapi.AuthInfo {
		return &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
			APIVersion:      "client.authentication.k8s.io/v1",
			Command:         plugin,
			Env:             []clientcmdapi.ExecEnvVar{{Name: "PLUGIN_TOKEN", Value: token}},
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}}
	}
	ca := mustReadBytes(t, cluster.CAFile)
	good := writeCLIConfig(t, cluster.Server, ca, "default", user(cluster.Token))

	r := mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", good, "get", "namespace", "default", "-o", "name"))
	if r.Stdout != "namespace/default\n" {
		t.Errorf("exec plugin: %s", r)
	}
	if data, err := os.ReadFile(calls); err != nil || !strings.Contains(string(data), "call") {
		t.Errorf("the exec plugin was never run (%v)", err)
	}

	r = mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", good, "-v=9", "get", "namespace", "default"))
	assertLogsRequests(t, r)
	assertNoSecrets(t, "-v=9 with an exec plugin", r, cluster.Token)

	// The plugin's token is what the server judges: a wrong one is refused.
	bad := writeCLIConfig(t, cluster.Server, ca, "default", user("plugin-wrong-token-0123456789"))
	r = runIn(t, "", nil, ccictlBin, "--cliconfig", bad, "get", "namespace", "default")
	if r.Code != 1 || !strings.HasPrefix(lastLine(r.Stderr), "error: You must be logged in to the server (") {
		t.Errorf("exec plugin with a wrong token: %s", r)
	}
	assertNoSecrets(t, "exec plugin with a wrong token", r, "plugin-wrong-token-0123456789")
}

// TestAuthIAMPassword: the iam auth-provider with username/password logs in
// to IAM once, caches the token (0600, no password) for later processes, and
// sends it as X-Auth-Token, which the gateway checks before Kubernetes sees
// anything.
func TestAuthIAMPassword(t *testing.T) {
	gw := startGateway(t, iamUser)
	ns := "e2e-auth-iam-password"
	cacheDir := t.TempDir()
	cfg := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig(
		"username", iamUser.Name, "password", iamUser.Password,
		"domain-name", iamUser.Domain, "project-name", iamUser.ProjectName)))
	run := func(stdin string, args ...string) result {
		return runIn(t, stdin, nil, ccictlBin, append([]string{"--cliconfig", cfg, "--cache-dir", cacheDir}, args...)...)
	}

	// Three separate processes, all through the gateway.
	r := mustSucceed(t, run("", "get", "namespaces", "-o", "name"))
	if !strings.Contains(r.Stdout, "namespace/default\n") {
		t.Errorf("get namespaces through the gateway: %s", r)
	}
	mustSucceed(t, run(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns), "create", "-f", "-"))
	t.Cleanup(func() { ccictl(t, "delete", "namespace", ns, "--wait=false", "--ignore-not-found") })
	r = mustSucceed(t, run("", "create", "-f", writeFile(t, "plb.yaml", plbManifest(t, ns, "via-iam"))))
	if r.Stdout != plbResource+"/via-iam created\n" {
		t.Errorf("create through the gateway: %s", r)
	}
	r = mustSucceed(t, run("", "get", "plb", "-oyaml"))
	if k := mustSucceed(t, kubectl(t, "get", "plb", "-n", ns, "-oyaml")); r.Stdout != k.Stdout {
		t.Errorf("get -oyaml through the gateway differs from kubectl's direct view:\n--- ccictl\n%s--- kubectl\n%s", r.Stdout, k.Stdout)
	}

	c := gw.iam.Calls()
	if c.TokensIssued != 1 || c.TokensRefused != 0 {
		t.Errorf("IAM token requests across 4 processes = %+v, want exactly one login (the cache serves the rest)", c)
	}
	if c.VerifiedToken < 4 || c.VerifiedAKSK != 0 || c.Rejected != 0 {
		t.Errorf("gateway saw %+v, want every request authenticated by X-Auth-Token", c)
	}

	// The token cache (<cache dir>/iam): one 0600 file in a 0700 directory,
	// holding the token but never the password. The discovery and HTTP caches
	// beside it hold neither.
	tokens := gw.iam.IssuedTokens()
	if len(tokens) != 1 {
		t.Fatalf("IAM issued %d tokens", len(tokens))
	}
	iamDir := filepath.Join(cacheDir, "iam")
	err := filepath.WalkDir(cacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, iamDir+string(filepath.Separator)) {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && (strings.Contains(string(data), iamUser.Password) || strings.Contains(string(data), tokens[0])) {
			t.Errorf("cache file %s, outside the token cache, holds the password or the token", p)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	var files []string
	err = filepath.WalkDir(iamDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && info.Mode().Perm() != 0o700:
			t.Errorf("cache directory %s has mode %v, want 0700", p, info.Mode().Perm())
		case !d.IsDir():
			files = append(files, p)
			if info.Mode().Perm() != 0o600 {
				t.Errorf("cache file %s has mode %v, want 0600", p, info.Mode().Perm())
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), iamUser.Password) {
				t.Errorf("cache file %s contains the password", p)
			}
			if !strings.Contains(string(data), tokens[0]) {
				t.Errorf("cache file %s does not hold the issued token", p)
			}
		}
		return nil
	})
	if err != nil || len(files) != 1 {
		t.Errorf("cache dir holds %v (err %v), want exactly one token file", files, err)
	}

	// Nothing secret in -v=9 logs of a cached run or of a fresh login.
	r = mustSucceed(t, run("", "-v=9", "get", "plb"))
	assertLogsRequests(t, r)
	assertNoSecrets(t, "-v=9 password mode, cached token", r, iamUser.Password, tokens[0], cluster.Token)
	fresh := t.TempDir()
	r = mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", cfg, "--cache-dir", fresh, "-v=9", "get", "plb"))
	assertNoSecrets(t, "-v=9 password mode, fresh login", r, append(gw.iam.IssuedTokens(), iamUser.Password, cluster.Token)...)
	assertConfigViewRedacted(t, cfg, iamUser.Password)

	// A wrong password: IAM refuses, ccictl exits 1 and says so, without
	// echoing the password.
	const wrongPassword = "Wrong-Passw0rd-8e2f4a6c"
	badCfg := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig(
		"username", iamUser.Name, "password", wrongPassword,
		"domain-name", iamUser.Domain, "project-name", iamUser.ProjectName)))
	r = runIn(t, "", nil, ccictlBin, "--cliconfig", badCfg, "--cache-dir", t.TempDir(), "-v=9", "get", "plb")
	if r.Code != 1 || !strings.Contains(lastLine(r.Stderr), "username or password is wrong") {
		t.Errorf("wrong password: want exit 1 naming the refused login, got %s", r)
	}
	assertNoSecrets(t, "wrong password", r, wrongPassword)
}

// TestAuthIAMToken: a given IAM token (the token key) is sent as
// X-Auth-Token; one the gateway does not know is refused.
func TestAuthIAMToken(t *testing.T) {
	gw := startGateway(t, iamUser)
	ns := newNamespace(t, "e2e-auth-iam-token")
	token := gw.iam.IssueToken(iamUser)
	cfg := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig("token", token)))
	run := func(cfg string, args ...string) result {
		return runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cfg, "--cache-dir", t.TempDir()}, args...)...)
	}

	r := mustSucceed(t, run(cfg, "create", "-f", writeFile(t, "plb.yaml", plbManifest(t, ns, "via-token"))))
	if r.Stdout != plbResource+"/via-token created\n" {
		t.Errorf("create with a given token: %s", r)
	}
	r = mustSucceed(t, run(cfg, "-v=9", "get", "plb", "-o", "name"))
	assertLogsRequests(t, r)
	if r.Stdout != plbResource+"/via-token\n" {
		t.Errorf("get with a given token: %s", r)
	}
	if c := gw.iam.Calls(); c.TokensIssued != 0 || c.VerifiedToken == 0 || c.Rejected != 0 {
		t.Errorf("a given token needs no login: IAM/gateway saw %+v", c)
	}
	assertNoSecrets(t, "-v=9 token mode", r, token, cluster.Token)
	assertConfigViewRedacted(t, cfg, token)

	const bogus = "MIIbogus0123456789abcdef0123456789"
	r = run(writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig("token", bogus))), "get", "plb")
	if r.Code != 1 || lastLine(r.Stderr) != errUnauthorized {
		t.Errorf("unknown token: %s", r)
	}
	assertNoSecrets(t, "unknown token", r, bogus)
}

// TestAuthAKSK: AK/SK request signing. The gateway recomputes every
// SDK-HMAC-SHA256 signature with the official SDK signer, so a request that
// reaches Kubernetes proves the signature was present and well formed.
func TestAuthAKSK(t *testing.T) {
	gw := startGateway(t, iamUser)
	ns := "e2e-auth-aksk"
	cfg := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig(
		"ak", iamUser.AK, "sk", iamUser.SK, "project-id", iamUser.ProjectID)))
	run := func(cfg, stdin string, args ...string) result {
		return runIn(t, stdin, nil, ccictlBin, append([]string{"--cliconfig", cfg, "--cache-dir", t.TempDir()}, args...)...)
	}

	// Signed GETs, POSTs with a body, and DELETEs all pass.
	mustSucceed(t, run(cfg, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns), "create", "-f", "-"))
	t.Cleanup(func() { ccictl(t, "delete", "namespace", ns, "--wait=false", "--ignore-not-found") })
	r := mustSucceed(t, run(cfg, "", "create", "-f", writeFile(t, "plb.yaml", plbManifest(t, ns, "via-aksk"))))
	if r.Stdout != plbResource+"/via-aksk created\n" {
		t.Errorf("create signed with AK/SK: %s", r)
	}
	r = mustSucceed(t, run(cfg, "", "get", "plb", "-oyaml"))
	if k := mustSucceed(t, kubectl(t, "get", "plb", "-n", ns, "-oyaml")); r.Stdout != k.Stdout {
		t.Errorf("get -oyaml signed with AK/SK differs from kubectl's:\n--- ccictl\n%s--- kubectl\n%s", r.Stdout, k.Stdout)
	}
	r = mustSucceed(t, run(cfg, "", "-v=9", "delete", "plb", "via-aksk"))
	assertLogsRequests(t, r)
	assertNoSecrets(t, "-v=9 AK/SK", r, iamUser.AK, iamUser.SK, cluster.Token)
	assertConfigViewRedacted(t, cfg, iamUser.SK)
	if c := gw.iam.Calls(); c.VerifiedAKSK < 4 || c.VerifiedToken != 0 || c.TokensIssued != 0 || c.Rejected != 0 {
		t.Errorf("gateway saw %+v, want every request accepted by its AK/SK signature", c)
	}

	// Without project-id the project is looked up by name in IAM (a signed
	// request too), once: the id is cached for the next process.
	byName := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig(
		"ak", iamUser.AK, "sk", iamUser.SK, "project-name", iamUser.ProjectName)))
	cacheDir := t.TempDir()
	for i := 0; i < 2; i++ {
		mustSucceed(t, runIn(t, "", nil, ccictlBin, "--cliconfig", byName, "--cache-dir", cacheDir, "get", "plb"))
	}
	if c := gw.iam.Calls(); c.ProjectLookups != 1 {
		t.Errorf("project lookups across two processes = %d, want 1 (cached)", c.ProjectLookups)
	}

	// A wrong SK signs requests the gateway refuses: exit 1, a clear message,
	// no secret in it.
	const wrongSK = "SKwrong-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	bad := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig(
		"ak", iamUser.AK, "sk", wrongSK, "project-id", iamUser.ProjectID)))
	r = run(bad, "", "-v=9", "get", "plb")
	if r.Code != 1 || lastLine(r.Stderr) != errUnauthorized {
		t.Errorf("wrong SK: %s", r)
	}
	assertNoSecrets(t, "wrong SK", r, iamUser.AK, wrongSK, iamUser.SK)
	// The gateway's reason is in the -v=9 log of the refused response.
	if !strings.Contains(r.Stderr, "the signature does not match") {
		t.Errorf("-v=9 of a refused signature does not show the gateway's reason:\n%s", r.Stderr)
	}
}

// writeScript writes an executable file.
func writeScript(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustReadBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kubectlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is required and is not on PATH: %v", err)
	}
	return p
}
