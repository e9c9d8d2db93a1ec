package remote

import (
	"context"
	"io"
	"net/url"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubectl/pkg/cmd/cp"
	kexec "k8s.io/kubectl/pkg/cmd/exec"
	"k8s.io/kubectl/pkg/cmd/portforward"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// TestFlagsAreKubectls: exec, port-forward and cp take kubectl's flags, with
// kubectl's shorthands, defaults and help, and kubectl's texts.
func TestFlagsAreKubectls(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	f := cmdutil.NewFactory(streams, &client.ConnectionOptions{})
	kf := f.Kubectl()
	for _, tc := range []struct{ ours, kubectls *cobra.Command }{
		{NewCmdExec(f, streams), kexec.NewCmdExec(kf, streams)},
		{NewCmdPortForward(f, streams), portforward.NewCmdPortForward(kf, streams)},
		{NewCmdCp(f, streams), cp.NewCmdCp(kf, streams)},
	} {
		name := tc.kubectls.Name()
		if tc.ours.Use != tc.kubectls.Use || tc.ours.Long != tc.kubectls.Long || tc.ours.Example != tc.kubectls.Example {
			t.Errorf("%s: texts differ from kubectl's", name)
		}
		n := 0
		tc.kubectls.Flags().VisitAll(func(k *pflag.Flag) {
			n++
			o := tc.ours.Flags().Lookup(k.Name)
			if o == nil {
				t.Errorf("%s: no --%s", name, k.Name)
				return
			}
			if o.Shorthand != k.Shorthand || o.DefValue != k.DefValue || o.Usage != k.Usage || o.Value.Type() != k.Value.Type() {
				t.Errorf("%s --%s: -%s %q %q %s; kubectl's -%s %q %q %s", name, k.Name,
					o.Shorthand, o.DefValue, o.Usage, o.Value.Type(), k.Shorthand, k.DefValue, k.Usage, k.Value.Type())
			}
		})
		var ours int
		tc.ours.Flags().VisitAll(func(*pflag.Flag) { ours++ })
		if ours != n {
			t.Errorf("%s: %d flags, kubectl's %d", name, ours, n)
		}
	}
}

type recorder struct{ ctx context.Context }

func (r *recorder) Execute(*url.URL, *restclient.Config, io.Reader, io.Writer, io.Writer, bool, remotecommand.TerminalSizeQueue) error {
	r.ctx = context.Background()
	return nil
}

func (r *recorder) ExecuteWithContext(ctx context.Context, _ *url.URL, _ *restclient.Config, _ io.Reader, _, _ io.Writer, _ bool, _ remotecommand.TerminalSizeQueue) error {
	r.ctx = ctx
	return nil
}

// TestExecutorStreamsOnCommandContext: kubectl's exec calls Execute, with
// no context; the stream gets the command's.
func TestExecutorStreamsOnCommandContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "command")
	r := &recorder{}
	e := &executor{ctx: ctx, inner: r}
	if err := e.Execute(&url.URL{}, &restclient.Config{}, nil, io.Discard, io.Discard, false, nil); err != nil {
		t.Fatal(err)
	}
	if r.ctx == nil || r.ctx.Value(key{}) != "command" {
		t.Errorf("streamed on %v, want the command's context", r.ctx)
	}
}
