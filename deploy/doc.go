// Package deploy holds the manifests that run `ccictl sync --watch` in a
// cluster (kustomize: `kubectl apply -k deploy/`, and `deploy/crd/` for the
// PoolBinding CRD where the server does not serve it) and the tests that
// check them against a real API server. See docs/deploy.md.
package deploy
