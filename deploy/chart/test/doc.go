// Package test holds the tests of the ccictl Helm chart (deploy/chart/ccictl):
// lint and render with Helm's own Go packages, a server-side dry run of every
// rendered object on the real API server, the RBAC's least privilege asked of
// that server, and `ccictl sync --watch` run under the ServiceAccount token
// the rendered RBAC grants. It is a module of its own so that Helm's
// dependencies stay out of ccictl's (run it with `make chart-test`).
package test
