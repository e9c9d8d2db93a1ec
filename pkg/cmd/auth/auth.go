// Package auth implements `ccictl auth`: kubectl's auth command
// (k8s.io/kubectl/pkg/cmd/auth: can-i, whoami, reconcile) unchanged but for
// the end of `auth can-i`, where kubectl exits the process (os.Exit(1))
// when the answer is "no"; here that answer is the command's exit code 1.
package auth

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kauth "k8s.io/kubectl/pkg/cmd/auth"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// NewCmdAuth returns the auth command.
func NewCmdAuth(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	cmd := kauth.NewCmdAuth(kf, streams)
	for _, sub := range cmd.Commands() {
		if sub.Name() == "can-i" {
			sub.Run = nil
			sub.RunE = func(c *cobra.Command, args []string) error {
				return CanI(kf, c, args, streams)
			}
		}
	}
	return cmd
}

// CanI is kubectl's `auth can-i` with its flags as kubectl's command parsed
// them: it prints kubectl's answer and returns exit code 1 for "no".
func CanI(kf kcmdutil.Factory, cmd *cobra.Command, args []string, streams genericiooptions.IOStreams) error {
	fl := cmd.Flags()
	o := &kauth.CanIOptions{IOStreams: streams}
	var err error
	for _, b := range []struct {
		name   string
		target *bool
	}{{"all-namespaces", &o.AllNamespaces}, {"quiet", &o.Quiet}, {"list", &o.List}, {"no-headers", &o.NoHeaders}} {
		*b.target, err = fl.GetBool(b.name)
		kcmdutil.CheckErr(err)
	}
	o.Subresource, err = fl.GetString("subresource")
	kcmdutil.CheckErr(err)

	kcmdutil.CheckErr(o.Complete(kf, args))
	kcmdutil.CheckErr(o.Validate())
	if o.List {
		kcmdutil.CheckErr(o.RunAccessList())
		return nil
	}
	allowed, err := o.RunAccessCheck()
	kcmdutil.CheckErr(err)
	if !allowed {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError}
	}
	return nil
}
