package root

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// Every key ccictl takes from CCICTL_* and the settings file names a flag of
// some command (a misspelt key would silently set nothing), and the
// environment help page lists each of them.
func TestSettingKeysAreFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdRoot(streams)
	flags := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	keys, _ := cmdutil.SettingKeys()
	var help string
	for _, c := range root.Commands() {
		if c.Name() == "environment" {
			help = c.Long
		}
	}
	start, end := strings.Index(help, "Allowed"), strings.Index(help, "Every other flag")
	if start < 0 || end < start {
		t.Fatalf("'ccictl help environment' has no list of allowed settings:\n%s", help)
	}
	listed := map[string]bool{}
	for _, w := range strings.FieldsFunc(help[start:end], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		listed[w] = true
	}
	for _, k := range keys {
		if !flags[k] {
			t.Errorf("setting %q is no flag of any command", k)
		}
		if !listed[k] {
			t.Errorf("'ccictl help environment' does not list %q", k)
		}
	}
	if !strings.Contains(help, "CCICTL_ELB_TOKEN") {
		t.Error("'ccictl help environment' does not document CCICTL_ELB_TOKEN")
	}
}
