package bindingsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openvessel/ccictl/pkg/poolsync"
)

// ClusterIdentity is this cluster's name in the ownership markers of pool
// members, the same for a one-shot sync and sync --watch given the same
// config:
//   - override (--cluster-id) when given;
//   - else the UID of the kube-system namespace (one GET) where the
//     identity may read it (Kubernetes, CCE): stable for the cluster's life
//     and different in every cluster;
//   - else, where the server has no such namespace for this identity (404
//     or 403: CCI 2.0 serves a tenant no core v1 at all), DerivedClusterID
//     of the API server's address and the IAM project (cfg.Host and the iam
//     auth provider's project).
//
// Members marked under another of these identities stay their binding's
// (poolsync.Marks) and are re-marked.
func ClusterIdentity(ctx context.Context, kube kubernetes.Interface, override string, cfg *rest.Config) (string, error) {
	if override != "" {
		return override, nil
	}
	ns, err := kube.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	switch {
	case err == nil:
		id := string(ns.UID)
		if err := poolsync.ValidateClusterID(id); err != nil {
			return "", fmt.Errorf("cannot use the UID of namespace %s as this cluster's identity (%v); pass --cluster-id", metav1.NamespaceSystem, err)
		}
		return id, nil
	case (apierrors.IsNotFound(err) || apierrors.IsForbidden(err)) && cfg != nil && cfg.Host != "":
		return DerivedClusterID(cfg.Host, iamProject(cfg)), nil
	default:
		return "", fmt.Errorf("cannot determine this cluster's identity for the ownership markers of pool members (reading namespace %s: %v); pass --cluster-id with a stable name for this cluster", metav1.NamespaceSystem, err)
	}
}

// DerivedClusterID names a cluster that shows no kube-system namespace,
// such as CCI 2.0, where what a tenant sees is the namespaces of one IAM
// project at one regional endpoint: "cci-" and 24 hex digits of a SHA-256
// of the canonical endpoint URL and the project. Stable: neither the
// endpoint nor the project changes over the project's life, and every
// client of the project derives the same value (one-shot and watch alike).
// Distinct: another project, or the same project in another region (another
// endpoint), is another set of namespaces and gets another value. project
// may be "" (a token with no project in the config): then every project
// behind the endpoint shares the identity, and --cluster-id tells them apart.
func DerivedClusterID(server, project string) string {
	sum := sha256.Sum256([]byte(canonicalServer(server) + "\n" + project))
	return "cci-" + hex.EncodeToString(sum[:])[:24]
}

// canonicalServer spells one endpoint one way: lower-case scheme and host,
// no default port, no trailing slash.
func canonicalServer(server string) string {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.ToLower(strings.TrimSpace(server)), "/")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if scheme == "" {
		scheme = "https"
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// iamProject is the project of the config's iam auth provider: its
// project-name, else project-id, else the region of a
// cci.REGION.myhuaweicloud.com endpoint (the vendor's default project is
// the region's); "" for other credentials.
func iamProject(cfg *rest.Config) string {
	if ap := cfg.AuthProvider; ap != nil && ap.Name == "iam" {
		for _, k := range []string{"project-name", "project-id"} {
			if v := strings.TrimSpace(ap.Config[k]); v != "" {
				return v
			}
		}
		if u, err := url.Parse(cfg.Host); err == nil {
			parts := strings.Split(u.Hostname(), ".")
			if len(parts) >= 4 && parts[0] == "cci" && strings.HasPrefix(strings.Join(parts[2:], "."), "myhuaweicloud.") {
				return parts[1]
			}
		}
	}
	return ""
}
