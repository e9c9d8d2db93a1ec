package cmdutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

	ruleOptions validate.Options
}

// ValidateFlagUsage is the help of --validate on create and apply.
const ValidateFlagUsage = `Must be one of: strict, warn, ignore. "strict" refuses objects that break a platform rule (see 'ccictl validate') before sending them and asks the server to reject unknown fields; "warn" reports findings as warnings and sends anyway; "ignore" checks nothing.`

// AddFlags adds --validate, --platform and --disable-rule.
func (v *ValidationOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.Mode, "validate", "strict", ValidateFlagUsage)
	v.AddRuleFlags(cmd)
}

// AddRuleFlags adds --platform and --disable-rule only, for a command whose
// --validate is kubectl's (apply); SetMode then takes its value.
func (v *ValidationOptions) AddRuleFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&v.Platforms, "platform", nil, "Platform rule sets to check against (default cci,cce). See 'ccictl validate --help'.")
	AddDisableRuleFlag(cmd, &v.Disabled)
}

// SetMode sets the mode from a server field-validation directive (Strict,
// Warn, Ignore), as kubectl reads --validate.
func (v *ValidationOptions) SetMode(directive string) {
	v.Mode = strings.ToLower(directive)
}

// AddDisableRuleFlag adds --disable-rule, the one name validate, create and
// apply use for switching rules off, and --disable, its deprecated alias:
// both feed the same value, so they can even be mixed.
func AddDisableRuleFlag(cmd *cobra.Command, target *[]string) {
	fs := cmd.Flags()
	fs.StringSliceVar(target, "disable-rule", nil, "Rule IDs to skip, e.g. SVC015,PLB005 (also CCICTL_DISABLE_RULE or 'disable-rule' in the settings file). MAN001 cannot be skipped.")
	// Hidden rather than pflag-deprecated: cobra prints pflag's deprecation
	// notes on the command's output stream, which is stdout here, and a note
	// there would corrupt -o json. RuleOptions says it on stderr instead.
	fs.AddFlag(&pflag.Flag{Name: "disable", Usage: "Deprecated: use --disable-rule", Value: fs.Lookup("disable-rule").Value, DefValue: "[]", Hidden: true})
}

// RuleOptions turns --platform and --disable-rule into rule options, as
// typed or read from the environment and settings file (case and spaces do
// not matter). An unknown platform or rule ID is a usage error: a typo must
// not silently check something else than asked.
func RuleOptions(cmd *cobra.Command, platforms, disabled []string) (validate.Options, error) {
	if f := cmd.Flags().Lookup("disable"); f != nil && f.Changed {
		fmt.Fprintln(cmd.ErrOrStderr(), "Flag --disable has been deprecated, use --disable-rule")
	}
	o := validate.Options{Disabled: map[string]bool{}}
	for _, p := range platforms {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			o.Platforms = append(o.Platforms, p)
		}
	}
	for _, id := range disabled {
		if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
			o.Disabled[id] = true
		}
	}
	if err := validate.CheckOptions(o); err != nil {
		return o, UsageErrorf(cmd, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return o, nil
}

// Complete checks the flag values.
func (v *ValidationOptions) Complete(cmd *cobra.Command) error {
	ro, err := RuleOptions(cmd, v.Platforms, v.Disabled)
	if err != nil {
		return err
	}
	v.ruleOptions = ro
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

// Options returns the rule-engine options, as Complete checked them.
func (v *ValidationOptions) Options() validate.Options { return v.ruleOptions }

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
