package main

// The CCI 2.0 flavour (up --flavour cci2): the Kubernetes control plane plus
// the cci/v2 API group, served by this binary's "cci-apiserver" subcommand
// and registered with the kube-apiserver's aggregation layer, and a tenant
// identity that sees what a CCI 2.0 user sees. See package cci2 for the
// design and docs/cci2.md for what is documented by the vendor and what is
// this flavour's assumption.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/openvessel/ccictl/localcluster/cci2"
)

const (
	flavourKubernetes = "kubernetes"
	flavourCCI2       = "cci2"

	// The APIService's Service: an ExternalName Service naming localhost,
	// which the aggregator resolves without a cluster network.
	cciServiceNamespace = "kube-system"
	cciServiceName      = "cci-apiserver"
	// tenantUser is the static-token user of the tenant kubeconfig.
	tenantUser  = "cci-tenant"
	tenantGroup = "cci:tenants"
	// frontProxyClient is the aggregator's client certificate's CN.
	frontProxyClient = "front-proxy-client"
)

// CCI2State is what the cci2 flavour adds to state.json: the tenant's
// endpoint (the gateway) and credentials.
type CCI2State struct {
	Server     string `json:"server"`
	Kubeconfig string `json:"kubeconfig"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
}

// cci2Setup holds the certificates and ports prepared before the
// kube-apiserver starts.
type cci2Setup struct {
	certs                     string
	caFile, certFile, keyFile string // serving CA and certificate of cci-apiserver
	frontCA                   string
	backendPort, gatewayPort  int
	tenantToken               string
	backendToken              string // cci-apiserver's own identity on the kube-apiserver
}

// prepareCCI2 writes the aggregation layer's certificates and the tenant's
// token line, and returns the kube-apiserver flags the flavour needs.
func prepareCCI2(certs, tokenFile string) (*cci2Setup, []string, error) {
	s := &cci2Setup{certs: certs, backendPort: freePort(), gatewayPort: freePort(), tenantToken: randomHex(16), backendToken: randomHex(16)}
	frontCA, frontKey, err := newCA("front-proxy-ca")
	if err != nil {
		return nil, nil, err
	}
	s.frontCA = filepath.Join(certs, "front-proxy-ca.crt")
	if err := writeCert(s.frontCA, "", frontCA, nil); err != nil {
		return nil, nil, err
	}
	proxyCert, proxyKey := filepath.Join(certs, "front-proxy-client.crt"), filepath.Join(certs, "front-proxy-client.key")
	if err := issue(proxyCert, proxyKey, frontCA, frontKey, frontProxyClient, nil, nil, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, nil, err
	}
	cciCA, cciKey, err := newCA("cci-apiserver-ca")
	if err != nil {
		return nil, nil, err
	}
	s.caFile = filepath.Join(certs, "cci-ca.crt")
	if err := writeCert(s.caFile, "", cciCA, nil); err != nil {
		return nil, nil, err
	}
	s.certFile, s.keyFile = filepath.Join(certs, "cci-apiserver.crt"), filepath.Join(certs, "cci-apiserver.key")
	dns := []string{cciServiceName + "." + cciServiceNamespace + ".svc", "localhost"}
	if err := issue(s.certFile, s.keyFile, cciCA, cciKey, cciServiceName, dns, []net.IP{net.IPv4(127, 0, 0, 1)}, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(tokenFile, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	_, err = fmt.Fprintf(f, "%s,%s,%s-uid,%s\n%s,system:cci-apiserver,cci-apiserver-uid,system:masters\n",
		s.tenantToken, tenantUser, tenantUser, tenantGroup, s.backendToken)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	return s, []string{
		"--requestheader-client-ca-file=" + s.frontCA,
		"--requestheader-allowed-names=" + frontProxyClient,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + proxyCert,
		"--proxy-client-key-file=" + proxyKey,
	}, nil
}

// startCCI2 runs cci-apiserver, registers cci/v2 with the aggregator, grants
// the tenant its rights and writes the tenant kubeconfig.
func startCCI2(ctx context.Context, s *cci2Setup, self, dir, server, caFile, token string) (*child, *CCI2State, error) {
	if err := os.WriteFile(filepath.Join(s.certs, "cci-core-token"), []byte(s.backendToken), 0o600); err != nil {
		return nil, nil, err
	}
	c, err := startChild(self, "cci-apiserver", filepath.Join(dir, "logs", "cci-apiserver.log"),
		"--core="+server, "--core-ca="+caFile, "--core-token-file="+filepath.Join(s.certs, "cci-core-token"),
		"--backend-port="+strconv.Itoa(s.backendPort), "--gateway-port="+strconv.Itoa(s.gatewayPort),
		"--cert="+s.certFile, "--key="+s.keyFile, "--client-ca="+s.frontCA)
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			stopChild(c)
		}
	}()
	cfg := &rest.Config{Host: server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	agg, err := aggclient.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := registerCCI2(ctx, kube, agg, s); err != nil {
		return nil, nil, err
	}
	gateway := "https://127.0.0.1:" + strconv.Itoa(s.gatewayPort)
	st := &CCI2State{Server: gateway, Kubeconfig: filepath.Join(dir, "kubeconfig-cci2"), Token: s.tenantToken, CAFile: s.caFile}
	if err := writeKubeconfig(st.Kubeconfig, gateway, s.caFile, s.tenantToken); err != nil {
		return nil, nil, err
	}
	ok = true
	return c, st, nil
}

func registerCCI2(ctx context.Context, kube kubernetes.Interface, agg aggclient.Interface, s *cci2Setup) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: cciServiceName, Namespace: cciServiceNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if _, err := kube.CoreV1().Services(cciServiceNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Service %s/%s: %w", cciServiceNamespace, cciServiceName, err)
	}
	ca, err := os.ReadFile(s.caFile)
	if err != nil {
		return err
	}
	port := int32(s.backendPort)
	as := &apiregv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: cci2.Version + "." + cci2.Group},
		Spec: apiregv1.APIServiceSpec{
			Group: cci2.Group, Version: cci2.Version,
			Service:              &apiregv1.ServiceReference{Namespace: cciServiceNamespace, Name: cciServiceName, Port: &port},
			CABundle:             ca,
			GroupPriorityMinimum: 1000, VersionPriority: 15,
		},
	}
	if _, err := agg.ApiregistrationV1().APIServices().Create(ctx, as, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create APIService %s: %w", as.Name, err)
	}

	// The tenant: everything of cci/v2 and PoolBindings, Leases for
	// sync --watch, nothing of core v1 or apps/v1.
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "cci-tenant"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{cci2.Group}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{APIGroups: []string{"loadbalancer.networking.openvessel.io"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"*"}},
		},
	}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cci-tenant"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: tenantGroup}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ClusterRoleBinding %s: %w", binding.Name, err)
	}

	// Ready when the aggregator says the backend is available.
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := agg.ApiregistrationV1().APIServices().Get(ctx, as.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiregv1.Available && c.Status == apiregv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// cciAPIServer is the "cci-apiserver" subcommand: the cci/v2 backend the
// aggregator proxies to (TLS, clients must present a certificate of the
// front-proxy CA) and the tenant's gateway.
func cciAPIServer(args []string) error {
	fs := flag.NewFlagSet("cci-apiserver", flag.ContinueOnError)
	core := fs.String("core", "", "kube-apiserver URL")
	coreCA := fs.String("core-ca", "", "kube-apiserver CA file")
	tokenFile := fs.String("core-token-file", "", "file holding the bearer token the backend uses on the kube-apiserver")
	backendPort := fs.Int("backend-port", 0, "port of the cci/v2 backend on 127.0.0.1")
	gatewayPort := fs.Int("gateway-port", 0, "port of the tenant gateway on 127.0.0.1")
	certFile := fs.String("cert", "", "serving certificate")
	keyFile := fs.String("key", "", "serving key")
	clientCA := fs.String("client-ca", "", "CA of the aggregator's client certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	coreURL, err := url.Parse(*core)
	if err != nil || *core == "" {
		return fmt.Errorf("--core: %q is not a URL", *core)
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	coreTLS, err := caPool(*coreCA)
	if err != nil {
		return err
	}
	clientPool, err := caPool(*clientCA)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	plain := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: coreTLS}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 32}
	backend := &http.Server{
		Addr: "127.0.0.1:" + strconv.Itoa(*backendPort),
		Handler: onlyFrontProxy(&cci2.Backend{Core: coreURL,
			Transport: bearer{token: strings.TrimSpace(string(tok)), next: plain}}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: clientPool, ClientAuth: tls.RequireAndVerifyClientCert},
	}
	gateway := &http.Server{
		Addr:      "127.0.0.1:" + strconv.Itoa(*gatewayPort),
		Handler:   &cci2.Gateway{Core: coreURL, Transport: plain},
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errs := make(chan error, 2)
	for _, s := range []*http.Server{backend, gateway} {
		go func() { errs <- s.ListenAndServeTLS("", "") }()
	}
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = backend.Shutdown(sctx)
		_ = gateway.Shutdown(sctx)
		return nil
	}
}

// onlyFrontProxy admits the aggregator's client certificate only: the
// backend acts with privileges, so only requests the kube-apiserver has
// authorized may reach it.
func onlyFrontProxy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != frontProxyClient {
			http.Error(w, "only the aggregator may call this server", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func caPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("no certificate in %s", file)
	}
	return p, nil
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func issue(certFile, keyFile string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: dns, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	return writeCert(certFile, keyFile, cert, key)
}

func writeCert(certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		return err
	}
	if keyFile == "" {
		return nil
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func validFlavour(f string) error {
	if f != flavourKubernetes && f != flavourCCI2 {
		return errors.New(`--flavour must be "kubernetes" or "cci2"`)
	}
	return nil
}
