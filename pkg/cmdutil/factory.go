// Package cmdutil holds what every ccictl command shares: the Factory that
// builds clients lazily from the global flags, error types that carry an exit
// code, and small flag helpers.
package cmdutil

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
)

// Factory gives commands their dependencies. Everything is built on first use,
// so a command that never talks to a server (completion, validate, config)
// never reads credentials.
type Factory struct {
	IOStreams  genericiooptions.IOStreams
	Connection *client.ConnectionOptions
	// Settings are ccictl's own settings (viper), after flags, CCICTL_* env
	// and the settings file are merged.
	Settings *Settings
	// NewELBClient builds the ELB client of a region from the options a
	// command mapped from its flags and configuration; nil means
	// pkg/elb/elbconfig (credentials, endpoint, project). Tests set it to
	// reach the ELB emulator without credentials.
	NewELBClient func(ctx context.Context, o elbconfig.Options, region string) (elb.Client, error)

	getter  *client.Getter
	kubectl kcmdutil.Factory
}

// NewFactory returns a Factory over the given connection options.
func NewFactory(streams genericiooptions.IOStreams, conn *client.ConnectionOptions) *Factory {
	return &Factory{IOStreams: streams, Connection: conn, Settings: NewSettings()}
}

// Getter is the cli-runtime RESTClientGetter.
func (f *Factory) Getter() *client.Getter {
	if f.getter == nil {
		f.getter = client.NewGetter(f.Connection)
	}
	return f.getter
}

// Kubectl is kubectl's own Factory over the same config loading (the
// cliconfig/kubeconfig order, the iam auth provider, the caches), for the
// verbs ccictl takes from k8s.io/kubectl/pkg/cmd. It is safe to call while
// building the command tree: nothing is read before a command runs.
func (f *Factory) Kubectl() kcmdutil.Factory {
	if f.kubectl == nil {
		// MatchVersionFlags adds the core/v1 defaults kubectl's commands
		// expect of ToRESTConfig (exec, cp, attach build REST clients on it).
		f.kubectl = kcmdutil.NewFactory(kcmdutil.NewMatchVersionFlags(f.Getter()))
	}
	return f.kubectl
}

// ToRESTConfig returns the REST config of the current context.
func (f *Factory) ToRESTConfig() (*rest.Config, error) { return f.Getter().ToRESTConfig() }

// ToRawKubeConfigLoader returns the config loader.
func (f *Factory) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return f.Getter().ToRawKubeConfigLoader()
}

// ToDiscoveryClient returns the cached discovery client.
func (f *Factory) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return f.Getter().ToDiscoveryClient()
}

// ToRESTMapper returns the REST mapper.
func (f *Factory) ToRESTMapper() (meta.RESTMapper, error) { return f.Getter().ToRESTMapper() }

// Namespace returns the namespace and whether it was chosen explicitly.
func (f *Factory) Namespace() (string, bool, error) { return f.Getter().Namespace() }

// NewBuilder returns a resource builder over this factory's clients.
func (f *Factory) NewBuilder() *resource.Builder { return resource.NewBuilder(f.Getter()) }

// DynamicClient returns a dynamic client.
func (f *Factory) DynamicClient() (dynamic.Interface, error) {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}
