// Command gen-deploy writes deploy/ (the kustomize install) from the Helm
// chart deploy/chart/ccictl, so that the two never disagree: the chart is
// the one source, deploy/ is its rendering with the release name ccictl in
// ccictl-system and the namespace created. It also copies the PoolBinding
// CRD into the chart's crds/. `make generate` runs it; `make
// check-generated` fails when what it writes differs from what is
// committed.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/deploy/chart/test/chartrender"
	"github.com/openvessel/ccictl/pkg/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-deploy:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	files, err := chartrender.KustomizeFiles()
	if err != nil {
		return err
	}
	deploy := filepath.Join(root, "deploy")
	resources, err := kustomizationResources(filepath.Join(deploy, "kustomization.yaml"))
	if err != nil {
		return err
	}
	var written []string
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(deploy, name), []byte(text), 0o644); err != nil {
			return err
		}
		written = append(written, name)
	}
	slices.Sort(written)
	slices.Sort(resources)
	if !slices.Equal(written, resources) {
		return fmt.Errorf("deploy/kustomization.yaml lists %v, the chart renders %v: make the resources list match", resources, written)
	}
	crd := "loadbalancer.networking.openvessel.io_poolbindings.yaml"
	src, err := testenv.CRDDir()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(src, crd))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "deploy", "chart", "ccictl", "crds", crd), data, 0o644)
}

func kustomizationResources(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k.Resources, nil
}
