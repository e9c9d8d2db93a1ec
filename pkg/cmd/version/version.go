// Package version implements `ccictl version`, shaped like `kubectl version`
// so scripts that read one read the other.
package version

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/version"
)

// Version is what -o json|yaml prints.
type Version struct {
	ClientVersion *version.Info             `json:"clientVersion,omitempty"`
	ServerVersion *apimachineryversion.Info `json:"serverVersion,omitempty"`
}

// Options are the flags of `version`.
type Options struct {
	ClientOnly bool
	Output     string

	serverVersion func() (*apimachineryversion.Info, error)
	genericiooptions.IOStreams
}

// NewCmdVersion returns `version`.
func NewCmdVersion(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the client and server version information",
		Long:    "Print the client and server version information for the current context.",
		Example: "  # Print the client and server versions for the current context\n  ccictl version\n\n  # Print only the client version, as JSON\n  ccictl version --client -o json",
		Args:    cobra.NoArgs,
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
	cmd.Flags().BoolVar(&o.ClientOnly, "client", o.ClientOnly, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "One of 'yaml' or 'json'.")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete prepares the server query. Nothing is read from the config here,
// so a broken config still lets the client version print.
func (o *Options) Complete(f *cmdutil.Factory, _ *cobra.Command, _ []string) error {
	if o.ClientOnly {
		return nil
	}
	o.serverVersion = func() (*apimachineryversion.Info, error) {
		dc, err := f.ToDiscoveryClient()
		if err != nil {
			return nil, err
		}
		// Always ask the server, never a cached answer.
		dc.Invalidate()
		return dc.ServerVersion()
	}
	return nil
}

// Validate checks the output format.
func (o *Options) Validate() error {
	if o.Output != "" && o.Output != "yaml" && o.Output != "json" {
		return errors.New(`--output must be 'yaml' or 'json'`)
	}
	return nil
}

// Run prints what it knows and then returns the server error, if any, so the
// client version is shown even when the server cannot be reached.
func (o *Options) Run(_ context.Context) error {
	client := version.Get()
	v := Version{ClientVersion: &client}
	var serverErr error
	if o.serverVersion != nil {
		v.ServerVersion, serverErr = o.serverVersion()
	}
	switch o.Output {
	case "":
		fmt.Fprintf(o.Out, "Client Version: %s\n", v.ClientVersion.GitVersion)
		if v.ServerVersion != nil {
			fmt.Fprintf(o.Out, "Server Version: %s\n", v.ServerVersion.GitVersion)
		}
	case "yaml":
		b, err := yaml.Marshal(&v)
		if err != nil {
			return err
		}
		// kubectl ends the document with an empty line; keep that.
		fmt.Fprintln(o.Out, string(b))
	case "json":
		b, err := json.MarshalIndent(&v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(o.Out, string(b))
	}
	return serverErr
}
