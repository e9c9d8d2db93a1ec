// Package client turns ccictl's global flags, the vendor-compatible "cliconfig"
// (a kubeconfig-shaped file) and the environment into a client-go REST
// configuration, discovery client and REST mapper. It does not import cobra.
package client

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	diskcached "k8s.io/client-go/discovery/cached/disk"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Environment variables that choose the config file, as the vendor's ccictl
// (CLICONFIG) and kubectl (KUBECONFIG) read them.
const (
	EnvCLIConfig  = "CLICONFIG"
	EnvKubeconfig = "KUBECONFIG"
)

// ConnectionOptions are the global connection flags. Empty fields leave the
// config file's values alone.
type ConnectionOptions struct {
	CLIConfig             string // --cliconfig
	Kubeconfig            string // --kubeconfig
	Context               string
	Cluster               string
	User                  string
	Namespace             string
	Server                string
	Token                 string
	Username, Password    string
	CertificateAuthority  string
	ClientCertificate     string
	ClientKey             string
	InsecureSkipTLSVerify bool
	RequestTimeout        string
	// CacheDir holds IAM tokens (iam/), the discovery cache
	// (discovery/<host>/) and the HTTP cache of discovery responses (http/),
	// laid out as kubectl lays out ~/.kube/cache. Empty: DefaultCacheDir().
	CacheDir string

	// Impersonation (--as, --as-group, --as-uid), as kubectl sends it.
	Impersonate       string
	ImpersonateGroups []string
	ImpersonateUID    string
	// TLSServerName overrides the name the server certificate is checked against.
	TLSServerName string
	// DisableCompression asks the server for uncompressed responses.
	DisableCompression bool

	// WrapConfig, when set, adjusts every REST config built (user agent, auth).
	WrapConfig func(*rest.Config) *rest.Config
}

// DefaultCLIConfigPath is where the vendor's ccictl keeps its config: $HOME/.kubev2/config.
func DefaultCLIConfigPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".kubev2", "config")
}

// DefaultCacheDir is the vendor's default --cache-dir: $HOME/.kubev2/cache.
func DefaultCacheDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".kubev2", "cache")
}

// LoadingRules says which config files are read: --cliconfig, then
// --kubeconfig, then $CLICONFIG, then $KUBECONFIG (a path list, merged as
// kubectl merges it), then $HOME/.kubev2/config. A missing default file is
// fine; a missing explicit one is an error. ~/.kube/config is deliberately not
// consulted, so ccictl never talks to a cluster nobody pointed it at.
func (o *ConnectionOptions) LoadingRules() *clientcmd.ClientConfigLoadingRules {
	rules := &clientcmd.ClientConfigLoadingRules{}
	switch {
	case o.CLIConfig != "":
		rules.ExplicitPath = o.CLIConfig
	case o.Kubeconfig != "":
		rules.ExplicitPath = o.Kubeconfig
	case os.Getenv(EnvCLIConfig) != "":
		rules.ExplicitPath = os.Getenv(EnvCLIConfig)
	case os.Getenv(EnvKubeconfig) != "":
		rules.Precedence = filepath.SplitList(os.Getenv(EnvKubeconfig))
	default:
		if p := DefaultCLIConfigPath(); p != "" {
			rules.Precedence = []string{p}
		}
	}
	return rules
}

// ConfigFileForWrite is the file `config set-*` commands change: the explicit
// file, else the first of the precedence list.
func (o *ConnectionOptions) ConfigFileForWrite() string {
	r := o.LoadingRules()
	if r.ExplicitPath != "" {
		return r.ExplicitPath
	}
	if len(r.Precedence) > 0 {
		return r.Precedence[0]
	}
	return DefaultCLIConfigPath()
}

func (o *ConnectionOptions) overrides() *clientcmd.ConfigOverrides {
	ov := &clientcmd.ConfigOverrides{
		CurrentContext: o.Context,
		Timeout:        o.RequestTimeout,
	}
	ov.Context.Cluster = o.Cluster
	ov.Context.AuthInfo = o.User
	ov.Context.Namespace = o.Namespace
	ov.ClusterInfo.Server = o.Server
	ov.ClusterInfo.CertificateAuthority = o.CertificateAuthority
	ov.ClusterInfo.InsecureSkipTLSVerify = o.InsecureSkipTLSVerify
	ov.ClusterInfo.TLSServerName = o.TLSServerName
	ov.ClusterInfo.DisableCompression = o.DisableCompression
	ov.AuthInfo.Impersonate = o.Impersonate
	ov.AuthInfo.ImpersonateGroups = o.ImpersonateGroups
	ov.AuthInfo.ImpersonateUID = o.ImpersonateUID
	ov.AuthInfo.Token = o.Token
	ov.AuthInfo.Username = o.Username
	ov.AuthInfo.Password = o.Password
	ov.AuthInfo.ClientCertificate = o.ClientCertificate
	ov.AuthInfo.ClientKey = o.ClientKey
	return ov
}

// Getter implements cli-runtime's RESTClientGetter over ConnectionOptions,
// caching what it builds for the life of one command.
type Getter struct {
	Options *ConnectionOptions

	loader    clientcmd.ClientConfig
	config    *rest.Config
	discovery discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
}

// NewGetter returns a RESTClientGetter for the options.
func NewGetter(o *ConnectionOptions) *Getter { return &Getter{Options: o} }

// ToRawKubeConfigLoader returns the merged config loader.
func (g *Getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	if g.loader == nil {
		g.loader = noConfigExplained{loader: clientcmd.NewNonInteractiveDeferredLoadingClientConfig(g.Options.LoadingRules(), g.Options.overrides())}
	}
	return g.loader
}

// ErrNoConfig is client-go's empty-config error (clientcmd.IsEmptyConfig
// holds) with a message naming what ccictl reads: client-go's says to set
// KUBERNETES_MASTER, which ccictl does not read.
var ErrNoConfig = clientcmd.NewEmptyConfigError("no configuration has been provided: pass --cliconfig or --kubeconfig, set " +
	EnvCLIConfig + " or " + EnvKubeconfig + ", or create $HOME/.kubev2/config (see 'ccictl help environment')")

// noConfigExplained replaces client-go's empty-config error by ErrNoConfig.
type noConfigExplained struct{ loader clientcmd.ClientConfig }

func explainNoConfig(err error) error {
	if err != nil && clientcmd.IsEmptyConfig(err) {
		return ErrNoConfig
	}
	return err
}

func (c noConfigExplained) RawConfig() (clientcmdapi.Config, error) { return c.loader.RawConfig() }

func (c noConfigExplained) ClientConfig() (*rest.Config, error) {
	cfg, err := c.loader.ClientConfig()
	return cfg, explainNoConfig(err)
}

func (c noConfigExplained) Namespace() (string, bool, error) {
	ns, explicit, err := c.loader.Namespace()
	return ns, explicit, explainNoConfig(err)
}

func (c noConfigExplained) ConfigAccess() clientcmd.ConfigAccess { return c.loader.ConfigAccess() }

// ToRESTConfig returns the REST config for the current context.
func (g *Getter) ToRESTConfig() (*rest.Config, error) {
	if g.config != nil {
		return rest.CopyConfig(g.config), nil
	}
	cfg, err := g.ToRawKubeConfigLoader().ClientConfig()
	if err != nil {
		return nil, err
	}
	// kubectl's defaults: enough headroom for discovery of many groups.
	cfg.QPS, cfg.Burst = 50, 300
	if g.Options.WrapConfig != nil {
		cfg = g.Options.WrapConfig(cfg)
	}
	g.config = cfg
	return rest.CopyConfig(cfg), nil
}

// discoveryCacheTTL is how long cached discovery is trusted, as kubectl
// trusts ~/.kube/cache. A type the cache does not know (a CRD installed since)
// invalidates it and refetches, so a stale cache costs one extra round trip,
// never a wrong "no such type".
const discoveryCacheTTL = 6 * time.Hour

// ToDiscoveryClient returns a discovery client cached on disk as kubectl's
// is: the parsed groups and resources under <cache dir>/discovery/<host>, and
// the discovery responses with their ETags under <cache dir>/http. A warm run
// sends no discovery request at all.
func (g *Getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	if g.discovery != nil {
		return g.discovery, nil
	}
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cacheDir := g.Options.CacheDir
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	if cacheDir == "" {
		// No home directory to cache in: discovery per command, in memory.
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return nil, err
		}
		g.discovery = memory.NewMemCacheClient(dc)
		return g.discovery, nil
	}
	dc, err := diskcached.NewCachedDiscoveryClientForConfig(cfg,
		DiscoveryCacheDir(cacheDir, cfg.Host), filepath.Join(cacheDir, "http"), discoveryCacheTTL)
	if err != nil {
		return nil, err
	}
	g.discovery = dc
	return g.discovery, nil
}

// unsafeHostChars are the characters of a server address that do not go
// into a directory name.
var unsafeHostChars = regexp.MustCompile(`[^(\w/.)]`)

// DiscoveryCacheDir is the discovery cache directory of one server under
// cacheDir: <cacheDir>/discovery/<host_port>, named as kubectl names it.
func DiscoveryCacheDir(cacheDir, host string) string {
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	return filepath.Join(cacheDir, "discovery", unsafeHostChars.ReplaceAllString(host, "_"))
}

// ToRESTMapper returns a discovery-backed mapper that also expands short
// names such as "svc" and "plb".
func (g *Getter) ToRESTMapper() (meta.RESTMapper, error) {
	if g.mapper != nil {
		return g.mapper, nil
	}
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	m := restmapper.NewDeferredDiscoveryRESTMapper(dc)
	g.mapper = &discoveryErrorMapper{RESTMapper: restmapper.NewShortcutExpander(m, dc, nil), dc: dc}
	return g.mapper, nil
}

// discoveryErrorMapper reports why discovery failed instead of "no match".
// Without it, a server that times out or refuses discovery makes every type
// look unknown ("the server doesn't have a resource type "ns"").
type discoveryErrorMapper struct {
	meta.RESTMapper
	dc discovery.CachedDiscoveryInterface
}

// explain returns the discovery error behind a no-match error, if any. The
// group list is cached after a successful fetch, so a genuinely unknown type
// costs no extra request.
func (m *discoveryErrorMapper) explain(err error) error {
	if err == nil || !meta.IsNoMatchError(err) {
		return err
	}
	if _, derr := m.dc.ServerGroups(); derr != nil {
		return derr
	}
	return err
}

func (m *discoveryErrorMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	k, err := m.RESTMapper.KindFor(r)
	return k, m.explain(err)
}

func (m *discoveryErrorMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	k, err := m.RESTMapper.KindsFor(r)
	return k, m.explain(err)
}

func (m *discoveryErrorMapper) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	res, err := m.RESTMapper.ResourceFor(r)
	return res, m.explain(err)
}

func (m *discoveryErrorMapper) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	res, err := m.RESTMapper.ResourcesFor(r)
	return res, m.explain(err)
}

func (m *discoveryErrorMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	rm, err := m.RESTMapper.RESTMapping(gk, versions...)
	return rm, m.explain(err)
}

func (m *discoveryErrorMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	rms, err := m.RESTMapper.RESTMappings(gk, versions...)
	return rms, m.explain(err)
}

// Reset lets callers that know discovery changed (a CRD just installed)
// refresh the underlying mapper.
func (m *discoveryErrorMapper) Reset() {
	if r, ok := m.RESTMapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}

// Namespace returns the namespace to use and whether the user chose it.
func (g *Getter) Namespace() (string, bool, error) {
	return g.ToRawKubeConfigLoader().Namespace()
}

// ParseTimeout reads a --request-timeout value ("0" or "" = none; a bare
// integer is seconds, as kubectl reads it).
func ParseTimeout(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return time.ParseDuration(s + "s")
}
