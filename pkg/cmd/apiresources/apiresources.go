// Package apiresources implements `ccictl api-resources` and
// `ccictl api-versions`, which list what the server serves, as kubectl does.
package apiresources

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// APIResourcesOptions are the flags of `api-resources`.
type APIResourcesOptions struct {
	Output     string
	NoHeaders  bool
	APIGroup   string
	Namespaced bool
	Verbs      []string
	Categories []string
	SortBy     string
	Cached     bool

	groupChanged bool
	nsChanged    bool
	discovery    discovery.CachedDiscoveryInterface
	genericiooptions.IOStreams
}

// resource is one row: the API resource and the group/version serving it.
type resource struct {
	metav1.APIResource
	gv schema.GroupVersion
}

// NewCmdAPIResources returns `api-resources`.
func NewCmdAPIResources(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &APIResourcesOptions{Namespaced: true, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		Long:  "Print the supported API resources on the server.",
		Example: `  # Print the supported API resources
  ccictl api-resources

  # Print the supported API resources with more information
  ccictl api-resources -o wide

  # Print the supported API resources sorted by a column
  ccictl api-resources --sort-by=name

  # Print the supported namespaced resources
  ccictl api-resources --namespaced=true

  # Print the supported non-namespaced resources
  ccictl api-resources --namespaced=false

  # Print the supported API resources with a specific APIGroup
  ccictl api-resources --api-group=loadbalancer.networking.openvessel.io`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: (wide, name).")
	fs.BoolVar(&o.NoHeaders, "no-headers", o.NoHeaders, "When using the default or custom-column output format, don't print headers (default print headers).")
	fs.StringVar(&o.APIGroup, "api-group", o.APIGroup, "Limit to resources in the specified API group.")
	fs.BoolVar(&o.Namespaced, "namespaced", o.Namespaced, "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.")
	fs.StringSliceVar(&o.Verbs, "verbs", o.Verbs, "Limit to resources that support the specified verbs.")
	fs.StringSliceVar(&o.Categories, "categories", o.Categories, "Limit to resources that belong to the specified categories.")
	fs.StringVar(&o.SortBy, "sort-by", o.SortBy, "If non-empty, sort list of resources using specified field. The field can be either 'name' or 'kind'.")
	fs.BoolVar(&o.Cached, "cached", o.Cached, "Use the cached list of resources if available.")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"wide", "name"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("sort-by", cobra.FixedCompletions([]string{"name", "kind"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete connects discovery and notes which filters were given.
func (o *APIResourcesOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return cmdutil.UsageErrorf(cmd, "unexpected arguments: %v", args)
	}
	o.groupChanged = cmd.Flags().Changed("api-group")
	o.nsChanged = cmd.Flags().Changed("namespaced")
	dc, err := f.ToDiscoveryClient()
	if err != nil {
		return err
	}
	o.discovery = dc
	return nil
}

// Validate checks the output format and sort key.
func (o *APIResourcesOptions) Validate() error {
	switch o.Output {
	case "", "wide", "name":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: name,wide", o.Output)
	}
	switch o.SortBy {
	case "", "name", "kind":
	default:
		return fmt.Errorf("--sort-by accepts only name or kind")
	}
	return nil
}

// Run lists the preferred version of every resource. Groups that failed
// discovery are reported after the ones that worked.
func (o *APIResourcesOptions) Run(_ context.Context) error {
	if !o.Cached {
		o.discovery.Invalidate()
	}
	var errs []error
	lists, err := o.discovery.ServerPreferredResources()
	if err != nil {
		errs = append(errs, err)
	}
	var rows []resource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if len(r.Verbs) == 0 ||
				(o.groupChanged && o.APIGroup != gv.Group) ||
				(o.nsChanged && o.Namespaced != r.Namespaced) ||
				(len(o.Verbs) > 0 && !sets.New(r.Verbs...).HasAll(o.Verbs...)) ||
				(len(o.Categories) > 0 && !sets.New(r.Categories...).HasAll(o.Categories...)) {
				continue
			}
			rows = append(rows, resource{APIResource: r, gv: gv})
		}
	}
	if len(rows) == 0 {
		return utilerrors.NewAggregate(errs)
	}
	sort.SliceStable(rows, func(i, j int) bool { return less(rows[i], rows[j], o.SortBy) })

	if o.Output == "name" {
		for _, r := range rows {
			name := r.Name
			if r.gv.Group != "" {
				name += "." + r.gv.Group
			}
			fmt.Fprintln(o.Out, name)
		}
		return utilerrors.NewAggregate(errs)
	}
	header := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}
	if o.Output == "wide" {
		header = append(header, "VERBS", "CATEGORIES")
	}
	if o.NoHeaders {
		header = nil
	}
	t := cmdutil.NewTable(o.Out, header...)
	for _, r := range rows {
		cells := []string{r.Name, strings.Join(r.ShortNames, ","), r.gv.String(), strconv.FormatBool(r.Namespaced), r.Kind}
		if o.Output == "wide" {
			cells = append(cells, strings.Join(r.Verbs, ","), strings.Join(r.Categories, ","))
		}
		t.Append(cells...)
	}
	if err := t.Render(); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// less orders by group (default), name or kind, then by name, as kubectl.
func less(a, b resource, by string) bool {
	var x, y string
	switch by {
	case "name":
		x, y = a.Name, b.Name
	case "kind":
		x, y = a.Kind, b.Kind
	default:
		x, y = a.gv.Group, b.gv.Group
	}
	if x != y {
		return x < y
	}
	return a.Name < b.Name
}

// APIVersionsOptions are the flags of `api-versions`.
type APIVersionsOptions struct {
	discovery discovery.CachedDiscoveryInterface
	genericiooptions.IOStreams
}

// NewCmdAPIVersions returns `api-versions`.
func NewCmdAPIVersions(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &APIVersionsOptions{IOStreams: streams}
	return &cobra.Command{
		Use:     "api-versions",
		Short:   "Print the supported API versions on the server, in the form of \"group/version\"",
		Long:    "Print the supported API versions on the server, in the form of \"group/version\".",
		Example: "  # Print the supported API versions\n  ccictl api-versions",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
}

// Complete connects discovery.
func (o *APIVersionsOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return cmdutil.UsageErrorf(cmd, "unexpected arguments: %v", args)
	}
	dc, err := f.ToDiscoveryClient()
	if err != nil {
		return err
	}
	o.discovery = dc
	return nil
}

// Validate has nothing to check.
func (o *APIVersionsOptions) Validate() error { return nil }

// Run prints one group/version a line, sorted.
func (o *APIVersionsOptions) Run(_ context.Context) error {
	o.discovery.Invalidate()
	groups, err := o.discovery.ServerGroups()
	if err != nil {
		return fmt.Errorf("couldn't get available api versions from server: %v", err)
	}
	versions := metav1.ExtractGroupVersions(groups)
	sort.Strings(versions)
	for _, v := range versions {
		fmt.Fprintln(o.Out, v)
	}
	return nil
}
