package cmdutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openvessel/ccictl/pkg/manifest"
	"github.com/openvessel/ccictl/pkg/validate"
)

// ValidationOptions is --validate on create and apply: the platform rules
// run before anything is sent, and the same level is asked of the server's
// field validation.
type ValidationOptions struct {
	Mode      string // strict | warn | ignore
	Platforms []string
	Disabled  []string
}

// AddFlags adds --validate, --platform and --disable-rule.
func (v *ValidationOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.Mode, "validate", "strict", `Must be one of: strict, warn, ignore. "strict" refuses objects that break a platform rule (see 'ccictl validate') before sending them and asks the server to reject unknown fields; "warn" reports findings as warnings and sends anyway; "ignore" checks nothing.`)
	cmd.Flags().StringSliceVar(&v.Platforms, "platform", nil, "Platform rule sets to check against (default cci,cce). See 'ccictl validate --help'.")
	cmd.Flags().StringSliceVar(&v.Disabled, "disable-rule", nil, "Rule IDs to skip, e.g. SVC004,PLB003.")
}

// Complete checks the flag values.
func (v *ValidationOptions) Complete() error {
	switch v.Mode {
	case "strict", "warn", "ignore":
	case "true":
		v.Mode = "strict"
	case "false":
		v.Mode = "ignore"
	default:
		return fmt.Errorf(`invalid --validate value %q: must be one of strict, warn, ignore`, v.Mode)
	}
	return nil
}

// ServerDirective is the fieldValidation asked of the API server.
func (v *ValidationOptions) ServerDirective() string {
	switch v.Mode {
	case "ignore":
		return "Ignore"
	case "warn":
		return "Warn"
	}
	return "Strict"
}

// Options returns the rule-engine options.
func (v *ValidationOptions) Options() validate.Options {
	o := validate.Options{Platforms: v.Platforms, Disabled: map[string]bool{}}
	for _, id := range v.Disabled {
		o.Disabled[strings.ToUpper(strings.TrimSpace(id))] = true
	}
	return o
}

// Check runs the rules over docs. In strict mode every document with an
// error finding gets that finding as its Err, so it is reported and not
// sent; warnings are printed to errOut. The documents are returned in order.
func (v *ValidationOptions) Check(docs []manifest.Document, errOut io.Writer) ([]manifest.Document, []error) {
	if v.Mode == "ignore" {
		return docs, nil
	}
	findings := validate.Validate(docs, v.Options())
	byDoc := map[int][]validate.Finding{}
	for _, fd := range findings {
		if fd.RuleID == validate.ManifestRuleID {
			continue // the decoder's error is already the document's Err
		}
		if fd.Severity == validate.SeverityError && v.Mode == "strict" {
			byDoc[fd.Document] = append(byDoc[fd.Document], fd)
			continue
		}
		fmt.Fprintf(errOut, "Warning: %s\n", FormatFinding(fd))
	}
	out := make([]manifest.Document, len(docs))
	copy(out, docs)
	for i := range out {
		fds := byDoc[i]
		if len(fds) == 0 || out[i].Err != nil {
			continue
		}
		msgs := make([]string, len(fds))
		for j, fd := range fds {
			msgs[j] = FormatFinding(fd)
		}
		out[i].Err = fmt.Errorf("%s\n(not sent; fix the manifest, or pass --validate=warn to send it anyway)", strings.Join(msgs, "\n"))
	}
	return out, nil
}

// FormatFinding is the one-line text form of a finding, the same line
// `ccictl validate` prints (validate.Finding.String):
// file:line: severity RULE object field: message [doc]. One format means a
// finding reads the same in a lint step and in a refused create or apply.
func FormatFinding(fd validate.Finding) string {
	return fd.String()
}
