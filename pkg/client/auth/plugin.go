package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// ProviderName is the auth-provider name of vendor cliconfigs.
const ProviderName = "iam"

var (
	registerOnce sync.Once
	registerErr  error

	stateMu     sync.Mutex
	pluginOpts  Options
	credsByConf = map[string]*Credentials{}
)

// Register makes the "iam" auth-provider known to client-go and installs the
// redact klog filter. It may be called more than once (e.g. after flags are
// parsed): the plugin is registered once and later calls only replace opts
// for providers created afterwards. The error is client-go's, if another
// plugin already took the name.
func Register(opts Options) error {
	stateMu.Lock()
	pluginOpts = opts
	credsByConf = map[string]*Credentials{}
	stateMu.Unlock()
	redact.Install()
	registerOnce.Do(func() {
		registerErr = rest.RegisterAuthProviderPlugin(ProviderName, newProvider)
	})
	return registerErr
}

// newProvider is the rest.Factory of the plugin. client-go calls it for every
// transport it builds; Credentials are shared per distinct config so a
// process logs in (or looks up its project) once even without the disk cache.
func newProvider(clusterAddress string, cfg map[string]string, _ rest.AuthProviderConfigPersister) (rest.AuthProvider, error) {
	stateMu.Lock()
	opts := pluginOpts
	stateMu.Unlock()
	c, err := ConfigFromProvider(cfg, clusterAddress, opts)
	if err != nil {
		return nil, err
	}
	key := memoKey(clusterAddress, cfg)
	stateMu.Lock()
	defer stateMu.Unlock()
	if creds, ok := credsByConf[key]; ok {
		return creds, nil
	}
	creds, err := NewCredentials(c, opts)
	if err != nil {
		return nil, err
	}
	credsByConf[key] = creds
	return creds, nil
}

// memoKey hashes the config (it holds secrets; only the hash is kept).
func memoKey(cluster string, cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(cluster))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(cfg[k]))
	}
	return hex.EncodeToString(h.Sum(nil))
}
