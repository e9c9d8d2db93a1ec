package client

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadingRules: any cliconfig content (kubeconfig-shaped YAML or JSON)
// either yields a client configuration or an error, never a panic, and
// loading is deterministic.
func FuzzLoadingRules(f *testing.F) {
	f.Add([]byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://cci.cn-north-4.myhuaweicloud.com", insecure-skip-tls-verify: true}
users:
- name: u
  user:
    auth-provider:
      name: iam
      config: {ak: AK, sk: SK, project-name: cn-north-4}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ns1}
current-context: x
`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"http://127.0.0.1:1"}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x","users":[{"name":"u","user":{"token":"t"}}]}`))
	f.Add([]byte("current-context: missing\n"))
	f.Add([]byte("clusters: [{name: c, cluster: {server: ':::'}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"))
	f.Add([]byte("users: [{name: u, user: {exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}}]\n"))
	f.Add([]byte("apiVersion: v2\nkind: Pod\n"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "cliconfig")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		load := func() (string, string, error) {
			g := NewGetter(&ConnectionOptions{CLIConfig: path})
			if _, err := g.ToRawKubeConfigLoader().RawConfig(); err != nil {
				return "", "", err
			}
			ns, _, nsErr := g.Namespace()
			cfg, err := g.ToRESTConfig()
			if err != nil {
				return ns, "", err
			}
			if nsErr != nil {
				return "", "", nsErr
			}
			return ns, cfg.Host, nil
		}
		ns1, host1, err1 := load()
		ns2, host2, err2 := load()
		if ns1 != ns2 || host1 != host2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("two loads differ: %q %q %v / %q %q %v", ns1, host1, err1, ns2, host2, err2)
		}
		if err1 == nil && host1 == "" {
			t.Fatal("REST config without a host")
		}
	})
}
