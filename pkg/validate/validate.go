// Package validate checks decoded manifests against rules taken from the
// platform documentation (CCI 2.0, CCE, serverless BLB, edge node pools,
// plain Kubernetes), offline and without cobra, so that `ccictl validate`,
// `create` and `apply` share one engine. Every finding carries a stable rule
// ID, the field path and the document the rule comes from.
package validate

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// Severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Platforms rules are grouped by.
const (
	PlatformCCI                 = "cci"
	PlatformCCE                 = "cce"
	PlatformServerlessBLB       = "serverless-blb"
	PlatformServerlessKubeProxy = "serverless-kube-proxy"
	PlatformEdgeNodePool        = "edge-nodepool"
	PlatformKubernetes          = "kubernetes"
)

// ManifestRuleID is the rule ID of findings that come from decoding
// (manifest.Document.Err): broken YAML/JSON, "//" comments, missing kind.
// It cannot be disabled: an undecodable document cannot be checked at all.
const ManifestRuleID = "MAN001"

// Finding is one rule violation; it is also the JSON shape of
// `ccictl validate -o json`.
type Finding struct {
	RuleID   string `json:"ruleID"`
	Severity string `json:"severity"`
	Source   string `json:"source"`
	Line     int    `json:"line,omitempty"`
	// Object is kind/namespace/name, or kind/name when no namespace is set.
	Object  string `json:"object,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Doc     string `json:"doc"`
	// Document is the index, in Validate's input, of the document the
	// finding is about, so callers can refuse exactly that document.
	Document int `json:"-"`
}

// String is the text form: "file:line: severity RULE object field: message (doc)".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Source)
	if f.Line > 0 {
		fmt.Fprintf(&b, ":%d", f.Line)
	}
	fmt.Fprintf(&b, ": %s %s", f.Severity, f.RuleID)
	if f.Object != "" {
		b.WriteString(" " + f.Object)
	}
	if f.Field != "" {
		b.WriteString(" " + f.Field)
	}
	b.WriteString(": " + f.Message)
	if f.Doc != "" {
		b.WriteString(" [" + f.Doc + "]")
	}
	return b.String()
}

// Options selects the rules that run.
type Options struct {
	// Platforms to check for; empty means the default set (rules that hold
	// on both CCI 2.0 and CCE, see RuleInfo.Default).
	Platforms []string
	// Disabled rule IDs.
	Disabled map[string]bool
}

// RuleInfo describes a rule for docs and --help.
type RuleInfo struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	Severity string `json:"severity"`
	// Field is the field path the rule looks at (with [i] for list items).
	Field       string `json:"field"`
	Description string `json:"description"`
	Doc         string `json:"doc"`
	// Default is true when the rule runs without --platform.
	Default bool `json:"default"`
}

// PlatformInfo describes a platform name accepted in Options.Platforms.
type PlatformInfo struct {
	Name        string
	Description string
	Default     bool
}

// Platforms lists the platform names, default ones first.
func Platforms() []PlatformInfo {
	return []PlatformInfo{
		{PlatformCCI, "Huawei Cloud CCI 2.0 (PoolBinding, cci/v2 objects)", true},
		{PlatformCCE, "Huawei Cloud CCE (Service API, kubernetes.io/elb.* annotations)", true},
		{PlatformKubernetes, "plain Kubernetes API rules and widely used annotations", true},
		{PlatformServerlessBLB, "serverless cluster in BLB service mode", false},
		{PlatformServerlessKubeProxy, "serverless cluster in kube-proxy service mode", false},
		{PlatformEdgeNodePool, "edge clusters exposing Services from edge node pools through ELB", false},
	}
}

// Rules lists every rule, sorted by ID.
func Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(registry)+1)
	out = append(out, RuleInfo{ID: ManifestRuleID, Platform: "all", Severity: SeverityError, Field: "(any)",
		Description: "the document decodes: valid YAML/JSON, an object with apiVersion and kind, no \"//\" comments copied from documentation",
		Doc:         docManifest, Default: true})
	for _, r := range registry {
		out = append(out, r.RuleInfo)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckOptions reports unknown platform names and rule IDs, for the
// command line to reject typos instead of silently checking nothing.
func CheckOptions(opts Options) error {
	var errs []error
	known := map[string]bool{}
	for _, p := range Platforms() {
		known[p.Name] = true
	}
	for _, p := range opts.Platforms {
		if !known[p] {
			errs = append(errs, fmt.Errorf("unknown platform %q (known: %s)", p, strings.Join(platformNames(), ", ")))
		}
	}
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
	}
	var disabled []string
	for id := range opts.Disabled {
		disabled = append(disabled, id)
	}
	sort.Strings(disabled)
	for _, id := range disabled {
		if !ids[id] {
			errs = append(errs, fmt.Errorf("unknown rule %q", id))
		} else if id == ManifestRuleID {
			errs = append(errs, fmt.Errorf("rule %s cannot be disabled: an undecodable document cannot be checked", id))
		}
	}
	return errors.Join(errs...)
}

func platformNames() []string {
	var n []string
	for _, p := range Platforms() {
		n = append(n, p.Name)
	}
	return n
}

// HasErrors reports whether any finding is an error (strict: warnings too).
func HasErrors(findings []Finding, strict bool) bool {
	for _, f := range findings {
		if f.Severity == SeverityError || strict {
			return true
		}
	}
	return false
}

// enabled reports whether r runs under opts.
func (o Options) enabled(r RuleInfo) bool {
	if o.Disabled[r.ID] {
		return false
	}
	if len(o.Platforms) == 0 {
		return r.Default
	}
	for _, p := range o.Platforms {
		if p == r.Platform {
			return true
		}
	}
	return false
}

// Validate runs the selected rules over docs. Documents that failed to
// decode become MAN001 findings. Findings are sorted by source, line, rule.
func Validate(docs []manifest.Document, opts Options) []Finding {
	in := &input{}
	var findings []Finding
	for i := range docs {
		d := &docs[i]
		if d.Err != nil {
			for _, f := range decodeFindings(d) {
				f.Document = i
				findings = append(findings, f)
			}
			continue
		}
		if d.Object == nil {
			continue
		}
		o := newObject(d)
		o.index = i
		in.objects = append(in.objects, o)
	}
	for _, r := range registry {
		if !opts.enabled(r.RuleInfo) {
			continue
		}
		em := &emitter{rule: r.RuleInfo, out: &findings}
		if r.check != nil {
			for _, o := range in.objects {
				r.check(in, o, em)
			}
		}
		if r.cross != nil {
			r.cross(in, em)
		}
	}
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.Field < b.Field
	})
	return findings
}

func decodeFindings(d *manifest.Document) []Finding {
	var leaves []error
	var flatten func(err error)
	flatten = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				flatten(e)
			}
			return
		}
		leaves = append(leaves, err)
	}
	flatten(d.Err)
	var out []Finding
	for _, e := range leaves {
		f := Finding{RuleID: ManifestRuleID, Severity: SeverityError, Source: d.Source, Line: d.Line, Message: e.Error(), Doc: docManifest}
		var me *manifest.Error
		if errors.As(e, &me) {
			f.Line, f.Field, f.Message = me.Line, me.Field, me.Msg
		}
		out = append(out, f)
	}
	return out
}

// emitter records findings for one rule.
type emitter struct {
	rule RuleInfo
	out  *[]Finding
}

// report adds a finding on field of o.
func (e *emitter) report(o *object, field, format string, args ...interface{}) {
	*e.out = append(*e.out, Finding{
		RuleID:   e.rule.ID,
		Severity: e.rule.Severity,
		Source:   o.doc.Source,
		Line:     o.doc.FieldLine(field),
		Object:   o.ref(),
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
		Doc:      e.rule.Doc,
		Document: o.index,
	})
}

// rule is a RuleInfo with its check. check runs once per object; cross
// once per input, for rules that relate objects to each other.
type rule struct {
	RuleInfo
	check func(in *input, o *object, e *emitter)
	cross func(in *input, e *emitter)
}

// registry holds every rule; filled by the rules_*.go files.
var registry []rule

func register(rs ...rule) { registry = append(registry, rs...) }
