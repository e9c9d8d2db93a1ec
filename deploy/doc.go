// Package deploy holds the manifests that run `ccictl sync --watch` in a
// cluster (kustomize: `kubectl apply -k deploy/`, and `deploy/crd/` for the
// PoolBinding CRD where the server does not serve it) and the tests that
// check them against a real API server. The manifests are rendered from the
// Helm chart in deploy/chart/ccictl by `make generate` (the chart is the one
// source; deploy/chart/test checks they agree). See docs/deploy.md.
package deploy
