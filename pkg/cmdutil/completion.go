package cmdutil

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// CompletionFunc is cobra's shape for argument and flag completion.
type CompletionFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completionTimeout bounds every server call made while the user waits at
// a prompt; no completion is better than a hung shell.
const completionTimeout = 5 * time.Second

// ResourceTypeAndNameCompletionFunc completes `VERB TYPE [NAME...]`: the first
// argument from the server's resource types (plural names and short names),
// later ones from the names of objects of that type in the namespace (-n or
// the context's), or in all namespaces with -A. Errors give no suggestions;
// they are logged only with cobra's completion debugging.
func ResourceTypeAndNameCompletionFunc(f *Factory) CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return filterPrefix(resourceTypes(f), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(resourceNames(cmd, f, args[0]), toComplete, args[1:]), cobra.ShellCompDirectiveNoFileComp
	}
}

// ResourceNameCompletionFunc completes names of one resource type (plural,
// singular or short name, optionally "resource.group"), e.g. "namespaces".
func ResourceNameCompletionFunc(f *Factory, resource string) CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return filterPrefix(resourceNames(cmd, f, resource), toComplete, args), cobra.ShellCompDirectiveNoFileComp
	}
}

// ConfigContextCompletionFunc completes context names from the cliconfig.
func ConfigContextCompletionFunc(f *Factory) CompletionFunc {
	return configNames(f, func(c *clientcmdapi.Config) []string { return keys(c.Contexts) })
}

// ConfigClusterCompletionFunc completes cluster names from the cliconfig.
func ConfigClusterCompletionFunc(f *Factory) CompletionFunc {
	return configNames(f, func(c *clientcmdapi.Config) []string { return keys(c.Clusters) })
}

// ConfigUserCompletionFunc completes user names from the cliconfig.
func ConfigUserCompletionFunc(f *Factory) CompletionFunc {
	return configNames(f, func(c *clientcmdapi.Config) []string { return keys(c.AuthInfos) })
}

// RegisterGlobalFlagCompletions completes the global -n/--namespace,
// --context, --cluster and --user flags of root and every subcommand.
func RegisterGlobalFlagCompletions(root *cobra.Command, f *Factory) {
	for flag, fn := range map[string]CompletionFunc{
		"namespace": ResourceNameCompletionFunc(f, "namespaces"),
		"context":   ConfigContextCompletionFunc(f),
		"cluster":   ConfigClusterCompletionFunc(f),
		"user":      ConfigUserCompletionFunc(f),
	} {
		if root.PersistentFlags().Lookup(flag) == nil {
			continue
		}
		_ = root.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return fn(cmd, nil, toComplete)
		})
	}
}

func configNames(f *Factory, pick func(*clientcmdapi.Config) []string) CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, err := f.Connection.LoadingRules().Load()
		if err != nil {
			cobra.CompDebugln("config: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(pick(cfg), toComplete, args), cobra.ShellCompDirectiveNoFileComp
	}
}

// resourceTypes lists what the server serves and can list, by plural name
// ("poolbindings") and short name ("plb"). A name that two groups share is
// also offered qualified ("services.cci"), so either can be picked.
func resourceTypes(f *Factory) []string {
	dc, err := f.ToDiscoveryClient()
	if err != nil {
		cobra.CompDebugln("discovery: "+err.Error(), true)
		return nil
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		cobra.CompDebugln("discovery: "+err.Error(), true)
		return nil
	}
	out := sets.New[string]()
	seen := map[string]int{}
	var qualified []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !sets.New(r.Verbs...).Has("list") {
				continue
			}
			out.Insert(r.Name)
			out.Insert(r.ShortNames...)
			seen[r.Name]++
			if gv.Group != "" {
				qualified = append(qualified, r.Name+"."+gv.Group)
			}
		}
	}
	for _, q := range qualified {
		name, _, _ := strings.Cut(q, ".")
		if seen[name] > 1 {
			out.Insert(q)
		}
	}
	return sets.List(out)
}

// resourceNames lists object names of one type, in the command's namespace
// unless the type is cluster-scoped or -A/--all-namespaces is set.
func resourceNames(cmd *cobra.Command, f *Factory, resource string) []string {
	mapper, err := f.ToRESTMapper()
	if err != nil {
		cobra.CompDebugln("mapper: "+err.Error(), true)
		return nil
	}
	mapping, err := mappingFor(mapper, resource)
	if err != nil {
		cobra.CompDebugln("mapper: "+err.Error(), true)
		return nil
	}
	dyn, err := f.DynamicClient()
	if err != nil {
		cobra.CompDebugln("client: "+err.Error(), true)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	ri := dyn.Resource(mapping.Resource)
	var items []string
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace && !allNamespaces(cmd) {
		ns, _, err := f.Namespace()
		if err != nil {
			cobra.CompDebugln("namespace: "+err.Error(), true)
			return nil
		}
		l, err := ri.Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			cobra.CompDebugln("list: "+err.Error(), true)
			return nil
		}
		for _, it := range l.Items {
			items = append(items, it.GetName())
		}
	} else {
		l, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			cobra.CompDebugln("list: "+err.Error(), true)
			return nil
		}
		for _, it := range l.Items {
			items = append(items, it.GetName())
		}
	}
	return sets.List(sets.New(items...))
}

// mappingFor resolves "plb", "poolbinding", "poolbindings" or
// "poolbindings.loadbalancer.networking.openvessel.io" as kubectl does.
func mappingFor(mapper meta.RESTMapper, resource string) (*meta.RESTMapping, error) {
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(resource).WithVersion(""))
	if err != nil {
		return nil, err
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil {
		return nil, err
	}
	return mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

func allNamespaces(cmd *cobra.Command) bool {
	if fl := cmd.Flags().Lookup("all-namespaces"); fl != nil {
		return fl.Value.String() == "true"
	}
	return false
}

// filterPrefix keeps candidates that start with prefix and were not already
// given as arguments.
func filterPrefix(candidates []string, prefix string, exclude []string) []string {
	skip := sets.New(exclude...)
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) && !skip.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
