// Package validate implements `ccictl validate`: the platform rules of
// pkg/validate over manifests, offline, for lint steps in CI.
package validate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	rules "github.com/openvessel/ccictl/pkg/validate"
)

// ValidateOptions holds what `validate` was asked to do.
type ValidateOptions struct {
	Filenames []string
	Recursive bool
	Output    string
	Platforms []string
	Disabled  []string
	Strict    bool
	ListRules bool

	ruleOptions rules.Options

	genericiooptions.IOStreams
}

// Summary counts what one run found; it is the "summary" of -o json.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	// Objects is the number of documents read, broken ones included.
	Objects int  `json:"objects"`
	Strict  bool `json:"strict"`
	// Failed is true when the exit code is 1.
	Failed bool `json:"failed"`
}

// Report is the -o json output.
type Report struct {
	Findings []rules.Finding `json:"findings"`
	Summary  Summary         `json:"summary"`
}

var example = `  # Check a file, a directory (recursively) or standard input
  ccictl validate -f poolbinding.yaml
  ccictl validate -f manifests/ -R
  cat svc.yaml | ccictl validate -f -

  # Machine-readable findings for CI
  ccictl validate -f manifests/ -R -o json

  # Check a serverless cluster in BLB mode; skip one rule; fail on warnings
  ccictl validate -f svc.yaml --platform=serverless-blb,kubernetes --disable-rule=SVC015 --strict

  # Every rule, with its platform, severity and whether it runs by default
  ccictl validate --list-rules`

// NewCmdValidate returns the validate command. It never uses f's clients:
// validating must work with no config file and no server.
func NewCmdValidate(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValidateOptions{Output: "text", IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "validate -f FILENAME [-R] [-o text|json] [--platform=P,...] [--disable-rule=RULE,...] [--strict]",
		DisableFlagsInUseLine: true,
		Short:                 "Check manifests against the platform rules, offline",
		Long:                  longHelp(),
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf(cmd, "unexpected args: %v (give files with -f)", args)
			}
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "File, directory or URL of manifests to check; - for standard input")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directories given in -f recursively")
	fl.StringVarP(&o.Output, "output", "o", o.Output, "Output format: text or json")
	fl.StringSliceVar(&o.Platforms, "platform", nil, "Platform rule sets to check against, instead of the default set (cci,cce,kubernetes default rules): "+strings.Join(platformNames(), ", "))
	cmdutil.AddDisableRuleFlag(cmd, &o.Disabled)
	fl.BoolVar(&o.Strict, "strict", false, "Exit 1 on warnings too")
	fl.BoolVar(&o.ListRules, "list-rules", false, "Print the rules (ID, platform, severity, default, description) and exit")
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("platform", cobra.FixedCompletions(platformNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func longHelp() string {
	var b strings.Builder
	b.WriteString(`Check manifests against rules taken from the platform documentation (CCI 2.0,
CCE, serverless BLB, edge node pools, plain Kubernetes) without contacting a
server: no config file, credentials or network are needed.

Each finding names the file and line, the rule ID, the object, the field and
the document the rule comes from. Findings go to standard output, a summary
line ("N errors, M warnings in K objects") to standard error. 'create' and
'apply' run the same rules before sending (--validate=strict|warn|ignore).

Exit status: 0 when no errors were found (warnings alone exit 0), 1 when at
least one error was found (or a warning, with --strict) or the input or the
flags are unusable.

Platforms (--platform; without it the default rules of the platforms marked
* run):
`)
	for _, p := range rules.Platforms() {
		mark := " "
		if p.Default {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %s %-22s %s\n", mark, p.Name, p.Description)
	}
	b.WriteString(`
Rules can be switched off by ID with --disable-rule, CCICTL_DISABLE_RULE or
the 'disable-rule' key of the settings file; MAN001 (the document does not decode)
cannot. 'ccictl validate --list-rules' prints every rule; docs/validate.md
explains each one and the seed page it comes from.`)
	return b.String()
}

func platformNames() []string {
	var n []string
	for _, p := range rules.Platforms() {
		n = append(n, p.Name)
	}
	return n
}

// Complete has nothing to resolve: validate needs no config or server.
func (o *ValidateOptions) Complete(cmd *cobra.Command) error { return nil }

// Validate rejects flags that would check something else than asked:
// unknown platforms and rule IDs, an unknown output format, no input.
func (o *ValidateOptions) Validate(cmd *cobra.Command) error {
	if o.Output != "text" && o.Output != "json" {
		return cmdutil.UsageErrorf(cmd, "unknown output format %q: must be text or json", o.Output)
	}
	ro, err := cmdutil.RuleOptions(cmd, o.Platforms, o.Disabled)
	if err != nil {
		return err
	}
	o.ruleOptions = ro
	if !o.ListRules && len(o.Filenames) == 0 {
		return cmdutil.UsageErrorf(cmd, "must specify -f FILENAME (a file, a directory, or - for standard input)")
	}
	return nil
}

// Run checks the input and prints the findings.
func (o *ValidateOptions) Run(cmd *cobra.Command) error {
	if o.ListRules {
		return o.printRules()
	}
	docs, err := cmdutil.ReadManifests(cmd.Context(), o.Filenames, o.Recursive, o.In)
	if err != nil {
		return err
	}
	findings := rules.Validate(docs, o.ruleOptions)
	sum := summarize(findings, len(docs), o.Strict)

	if o.Output == "json" {
		rep := Report{Findings: findings, Summary: sum}
		if rep.Findings == nil {
			rep.Findings = []rules.Finding{} // [] rather than null, for consumers
		}
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(o.Out, "%s\n", data); err != nil {
			return err
		}
	} else {
		for _, fd := range findings {
			if _, err := fmt.Fprintln(o.Out, cmdutil.FormatFinding(fd)); err != nil {
				return err
			}
		}
		fmt.Fprintln(o.ErrOut, sum.String())
	}
	if sum.Failed {
		return cmdutil.SilentError // the findings are the message
	}
	return nil
}

func summarize(findings []rules.Finding, objects int, strict bool) Summary {
	s := Summary{Objects: objects, Strict: strict}
	for _, fd := range findings {
		if fd.Severity == rules.SeverityError {
			s.Errors++
		} else {
			s.Warnings++
		}
	}
	s.Failed = rules.HasErrors(findings, strict)
	return s
}

// String is the summary line of text output.
func (s Summary) String() string {
	return fmt.Sprintf("%s, %s in %s", plural(s.Errors, "error"), plural(s.Warnings, "warning"), plural(s.Objects, "object"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// printRules prints the rule table; with --platform only the rules that
// would run for those platforms.
func (o *ValidateOptions) printRules() error {
	all := rules.Rules()
	list := all[:0:0]
	for _, r := range all {
		if selected(r, o.ruleOptions) {
			list = append(list, r)
		}
	}
	if o.Output == "json" {
		data, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, "%s\n", data)
		return err
	}
	t := cmdutil.NewTable(o.Out, "ID", "PLATFORM", "SEVERITY", "DEFAULT", "DESCRIPTION")
	for _, r := range list {
		def := "no"
		if r.Default {
			def = "yes"
		}
		if o.ruleOptions.Disabled[r.ID] {
			def = "disabled"
		}
		t.Append(r.ID, r.Platform, r.Severity, def, r.Description)
	}
	return t.Render()
}

// selected mirrors how rules.Options picks rules, minus --disable-rule (the
// table shows disabled rules as such): no platforms means every rule,
// otherwise the rules of the named platforms plus MAN001, which always runs.
func selected(r rules.RuleInfo, opts rules.Options) bool {
	if len(opts.Platforms) == 0 || r.ID == rules.ManifestRuleID {
		return true
	}
	for _, p := range opts.Platforms {
		if p == r.Platform {
			return true
		}
	}
	return false
}
