package client

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// With no config at all the error names what ccictl reads, not client-go's
// KUBERNETES_MASTER (which ccictl does not read), and is still recognised
// as an empty-config error.
func TestNoConfigNamesWhatCcictlReads(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(EnvCLIConfig, "")
	t.Setenv(EnvKubeconfig, "")
	g := NewGetter(&ConnectionOptions{})
	_, err := g.ToRESTConfig()
	if err == nil {
		t.Fatalf("no error without any config (HOME=%s)", home)
	}
	_, _, nsErr := g.Namespace()
	for _, e := range []error{err, nsErr} {
		if e == nil {
			continue
		}
		msg := e.Error()
		if strings.Contains(msg, "KUBERNETES_MASTER") || !clientcmd.IsEmptyConfig(e) {
			t.Errorf("error %q", msg)
		}
		for _, w := range []string{"--cliconfig", "--kubeconfig", EnvCLIConfig, EnvKubeconfig, filepath.Join("$HOME", ".kubev2", "config"), "ccictl help environment"} {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not name %s", msg, w)
			}
		}
	}
}
