package validate

import (
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// annDirectAccess is TKE's direct pod connection annotation.
const annDirectAccess = "service.cloud.tencent.com/direct-access"

func init() {
	k8s := func(id, sev, field, desc string) RuleInfo {
		return RuleInfo{ID: id, Platform: PlatformKubernetes, Severity: sev, Field: field, Description: desc, Doc: docKubernetes, Default: true}
	}
	onService := func(check func(in *input, o *object, e *emitter)) func(in *input, o *object, e *emitter) {
		return func(in *input, o *object, e *emitter) {
			if o.isService() {
				check(in, o, e)
			}
		}
	}
	register(
		rule{RuleInfo: k8s("K8S001", SeverityError, "metadata.name", "every object has metadata.name (or metadata.generateName)"), check: checkNameRequired},
		rule{RuleInfo: k8s("K8S002", SeverityError, "metadata.{labels,annotations}", "label and annotation values are strings (quote true, 80… in YAML)"), check: checkMetaStrings},
		rule{RuleInfo: k8s("K8S003", SeverityError, "metadata.{labels,annotations}", "label and annotation keys are qualified names; label values are valid label values"), check: checkMetaSyntax},
		rule{RuleInfo: k8s("K8S004", SeverityError, "spec.ports[i]", "a Service exposes each port/protocol pair once"), check: onService(checkPortProtocolUnique)},
		rule{RuleInfo: k8s("K8S005", SeverityError, "spec.ports[i].nodePort", "nodePort is not set on a ClusterIP Service"), check: onService(checkNodePortType)},
		rule{RuleInfo: k8s("K8S006", SeverityError, "metadata.name", "Service names are DNS-1035 labels: start with a letter, at most 63 characters"), check: onService(checkSvcDNS1035)},
		rule{RuleInfo: k8s("K8S007", SeverityError, "spec.loadBalancerClass", "loadBalancerClass is a qualified name and only set on type LoadBalancer"), check: onService(checkLBClassGeneric)},
		rule{RuleInfo: k8s("K8S008", SeverityError, "spec.sessionAffinityConfig", "sessionAffinityConfig is only set with sessionAffinity: ClientIP"), check: onService(checkAffinityConfig)},
		rule{RuleInfo: RuleInfo{ID: "DPC001", Platform: PlatformKubernetes, Severity: SeverityWarning, Field: annotationPath(annDirectAccess),
			Description: annDirectAccess + ` takes a boolean string, "true" or "false"`, Doc: docTKEDirect, Default: true}, check: onService(checkDirectAccessValue)},
		rule{RuleInfo: RuleInfo{ID: "DPC002", Platform: PlatformKubernetes, Severity: SeverityWarning, Field: annotationPath(annDirectAccess),
			Description: annDirectAccess + " only makes sense on type LoadBalancer", Doc: docTKEDirect, Default: true}, check: onService(checkDirectAccessType)},
	)
}

func checkNameRequired(_ *input, o *object, e *emitter) {
	name, _ := get(o.m, "metadata", "name").(string)
	gen, _ := get(o.m, "metadata", "generateName").(string)
	if name == "" && gen == "" {
		if raw := get(o.m, "metadata", "name"); raw != nil && !isString(raw) {
			return // a non-string name is reported by the kind's name rule
		}
		e.report(o, "metadata.name", "metadata.name is required")
	}
}

// metaMaps returns the labels/annotations maps of an object and of its pod
// template, keyed by field path.
func metaMaps(o *object) map[string]interface{} {
	out := map[string]interface{}{}
	add := func(prefix string, md map[string]interface{}) {
		for _, k := range []string{"labels", "annotations"} {
			if v, ok := md[k]; ok && v != nil {
				out[prefix+"."+k] = v
			}
		}
	}
	md, _ := get(o.m, "metadata").(map[string]interface{})
	add("metadata", md)
	if path, tmd, ok := podTemplateMeta(o); ok && path != "metadata" {
		add(path, tmd)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkMetaStrings(_ *input, o *object, e *emitter) {
	maps := metaMaps(o)
	for _, path := range sortedKeys(maps) {
		mm, ok := maps[path].(map[string]interface{})
		if !ok {
			e.report(o, path, "%s must be a map of strings, not %s", path, typeName(maps[path]))
			continue
		}
		for _, k := range sortedKeys(mm) {
			if v := mm[k]; !isString(v) {
				e.report(o, manifest.Child(path, k), "value %s is %s; label and annotation values are strings, write %q", show(v), typeName(v), strings.Trim(show(v), `"`))
			}
		}
	}
}

func checkMetaSyntax(_ *input, o *object, e *emitter) {
	maps := metaMaps(o)
	for _, path := range sortedKeys(maps) {
		mm, ok := maps[path].(map[string]interface{})
		if !ok {
			continue
		}
		isLabels := strings.HasSuffix(path, ".labels")
		for _, k := range sortedKeys(mm) {
			f := manifest.Child(path, k)
			if msgs := content.IsLabelKey(k); len(msgs) > 0 {
				e.report(o, f, "key %q is not a qualified name: %s", k, strings.Join(msgs, "; "))
				continue
			}
			if s, isStr := mm[k].(string); isStr && isLabels {
				if msgs := content.IsLabelValue(s); len(msgs) > 0 {
					e.report(o, f, "label value %q is not valid: %s", s, strings.Join(msgs, "; "))
				}
			}
		}
	}
}

func checkPortProtocolUnique(_ *input, o *object, e *emitter) {
	seen := map[string]string{}
	for _, p := range o.ports() {
		n, ok := asInt(p.m["port"])
		if !ok {
			continue
		}
		key := strings.ToUpper(p.protocol()) + "/" + itoa(n)
		if first, dup := seen[key]; dup {
			e.report(o, p.path, "port %s is already exposed by %s", key, first)
			continue
		}
		seen[key] = p.path
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func checkNodePortType(_ *input, o *object, e *emitter) {
	if o.svcType() != "ClusterIP" {
		return
	}
	for _, p := range o.ports() {
		if n, ok := asInt(p.m["nodePort"]); ok && n != 0 {
			e.report(o, p.path+".nodePort", "nodePort %d is set on a ClusterIP Service; use type NodePort or LoadBalancer, or remove it", n)
		}
	}
}

func checkSvcDNS1035(_ *input, o *object, e *emitter) {
	s, _ := get(o.m, "metadata", "name").(string)
	if s == "" {
		return
	}
	if msgs := validation.IsDNS1035Label(s); len(msgs) > 0 {
		e.report(o, "metadata.name", "Service name %q is not a DNS-1035 label: %s", s, strings.Join(msgs, "; "))
	}
}

func checkLBClassGeneric(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "loadBalancerClass")
	if raw == nil {
		return
	}
	s, ok := raw.(string)
	switch {
	case !ok:
		e.report(o, "spec.loadBalancerClass", "loadBalancerClass must be a string, not %s", typeName(raw))
	case o.svcType() != "LoadBalancer":
		e.report(o, "spec.loadBalancerClass", "loadBalancerClass is only allowed on type LoadBalancer, this Service is %s", o.svcType())
	case s == "":
		e.report(o, "spec.loadBalancerClass", "loadBalancerClass is empty; remove it or name a class")
	default:
		if msgs := content.IsLabelKey(s); len(msgs) > 0 {
			e.report(o, "spec.loadBalancerClass", "loadBalancerClass %q is not a qualified name: %s", s, strings.Join(msgs, "; "))
		}
	}
}

func checkAffinityConfig(_ *input, o *object, e *emitter) {
	if get(o.m, "spec", "sessionAffinityConfig") == nil {
		return
	}
	if s, _ := get(o.m, "spec", "sessionAffinity").(string); s != "ClientIP" {
		e.report(o, "spec.sessionAffinityConfig", "sessionAffinityConfig is set but sessionAffinity is not ClientIP; set sessionAffinity: ClientIP or remove the config")
	}
}

func checkDirectAccessValue(_ *input, o *object, e *emitter) {
	raw, present := o.annotation(annDirectAccess)
	if !present {
		return
	}
	s, ok := raw.(string)
	if !ok {
		return // K8S002 reports non-strings, with the quoting hint
	}
	if s != "true" && s != "false" {
		e.report(o, annotationPath(annDirectAccess), "%q is not a boolean string; use \"true\" to enable direct pod connection or \"false\"", s)
	}
}

func checkDirectAccessType(_ *input, o *object, e *emitter) {
	if _, present := o.annotation(annDirectAccess); present && o.svcType() != "LoadBalancer" {
		e.report(o, annotationPath(annDirectAccess), "direct pod connection only applies to a Service of type LoadBalancer; this one is %s", o.svcType())
	}
}
