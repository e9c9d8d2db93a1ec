package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// cceNameRe is the pattern the CCE API reference gives for Service, namespace and
// port names.
var cceNameRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

const cceNamePattern = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"

func init() {
	svc := func(id, sev, field, desc string, def bool, check func(in *input, o *object, e *emitter)) rule {
		return rule{
			RuleInfo: RuleInfo{ID: id, Platform: PlatformCCE, Severity: sev, Field: field, Description: desc, Doc: docCCEService, Default: def},
			check: func(in *input, o *object, e *emitter) {
				if o.isService() {
					check(in, o, e)
				}
			},
		}
	}
	register(
		svc("SVC001", SeverityError, "metadata.name", "Service name is 1-24 characters matching "+cceNamePattern, true, checkSvcName),
		svc("SVC002", SeverityError, "metadata.namespace", "namespace is at most 63 characters matching "+cceNamePattern, true, checkSvcNamespace),
		svc("SVC003", SeverityError, "spec.ports", "spec.ports is required: a non-empty list of port objects", true, checkSvcPortsPresent),
		svc("SVC004", SeverityError, "spec.ports[i].port", "port is required, an integer in (0,65535]", true, checkSvcPort),
		svc("SVC005", SeverityError, "spec.ports[i].targetPort", "targetPort is a number in 1-65535 or an IANA_SVC_NAME; 0 or empty means the port itself", true, checkSvcTargetPort),
		svc("SVC006", SeverityError, "spec.ports[i].nodePort", "nodePort is in [30000,32767] (0 or unset: allocated by the system)", true, checkSvcNodePort),
		svc("SVC007", SeverityError, "spec.ports[i].protocol", "protocol is TCP or UDP", true, checkSvcProtocol),
		svc("SVC008", SeverityError, "spec.type", "type is ClusterIP, NodePort or LoadBalancer", true, checkSvcType),
		svc("SVC009", SeverityError, "spec.sessionAffinity", "sessionAffinity is ClientIP or None", true, checkSvcAffinity),
		svc("SVC010", SeverityError, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "with sessionAffinity ClientIP, timeoutSeconds is in (0,86400]", true, checkSvcAffinityTimeout),
		svc("SVC011", SeverityError, "spec.ports[i].name", "port names are DNS labels (at most 63 characters matching "+cceNamePattern+")", true, checkSvcPortNameFormat),
		svc("SVC012", SeverityError, "spec.ports[i].name", "port names are unique within the Service", true, checkSvcPortNameUnique),
		svc("SVC013", SeverityError, "spec.ports[i].name", "port names are required when the Service has more than one port", true, checkSvcPortNameRequired),
		svc("SVC014", SeverityError, "spec.clusterIP", `clusterIP is "None", empty or an IP address`, true, checkSvcClusterIP),
		svc("SVC015", SeverityWarning, "metadata.{selfLink,uid,resourceVersion,creationTimestamp,deletionTimestamp}", "server-populated metadata is not set in a create request (the API call fails)", true, checkSvcReadOnly),
	)
	elb := func(id, sev, field, desc string, check func(in *input, o *object, e *emitter)) rule {
		return rule{
			RuleInfo: RuleInfo{ID: id, Platform: PlatformCCE, Severity: sev, Field: field, Description: desc, Doc: docCCEAnnotations, Default: true},
			check: func(in *input, o *object, e *emitter) {
				if o.isService() {
					check(in, o, e)
				}
			},
		}
	}
	register(
		elb("ELB001", SeverityWarning, annotationPath(annELBID), "kubernetes.io/elb.id is an ELB ID (UUID), not a masked or made-up value", checkELBID),
		elb("ELB002", SeverityWarning, annotationPath(annELBClass), "kubernetes.io/elb.class is union (shared) or performance (dedicated)", checkELBClass),
		elb("ELB003", SeverityWarning, annotationPath(annELBAutocreate), "kubernetes.io/elb.autocreate is a JSON object and is not combined with kubernetes.io/elb.id", checkELBAutocreate),
		elb("ELB004", SeverityWarning, annotationPath(annELBAlgorithm), "kubernetes.io/elb.lb-algorithm is ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP", checkELBAlgorithm),
		elb("ELB005", SeverityWarning, "metadata.annotations[kubernetes.io/elb.*]", "kubernetes.io/elb.* annotations only take effect on type LoadBalancer", checkELBOnLoadBalancer),
	)
}

// CCE ELB annotations (CCE user guide, LoadBalancer Service annotations).
const (
	annELBID         = "kubernetes.io/elb.id"
	annELBClass      = "kubernetes.io/elb.class"
	annELBAutocreate = "kubernetes.io/elb.autocreate"
	annELBAlgorithm  = "kubernetes.io/elb.lb-algorithm"
)

func checkSvcName(_ *input, o *object, e *emitter) {
	md, _ := get(o.m, "metadata").(map[string]interface{})
	raw, present := md["name"]
	if !present || raw == nil {
		return // K8S001 reports a missing name
	}
	name, ok := raw.(string)
	switch {
	case !ok:
		e.report(o, "metadata.name", "name must be a string, not %s", typeName(raw))
	case len(name) == 0 || len(name) > 24:
		e.report(o, "metadata.name", "name %q is %d characters; the CCE Service API allows 1 to 24", name, len(name))
	case !cceNameRe.MatchString(name):
		e.report(o, "metadata.name", "name %q must match %s (lowercase letters, digits and '-', starting and ending with a letter or digit)", name, cceNamePattern)
	}
}

func checkSvcNamespace(_ *input, o *object, e *emitter) {
	md, _ := get(o.m, "metadata").(map[string]interface{})
	raw, present := md["namespace"]
	if !present || raw == nil {
		return
	}
	ns, ok := raw.(string)
	switch {
	case !ok:
		e.report(o, "metadata.namespace", "namespace must be a string, not %s", typeName(raw))
	case ns == "":
		// Empty means "default", as the CCE API reference says.
	case len(ns) > 63:
		e.report(o, "metadata.namespace", "namespace %q is %d characters; at most 63 are allowed", ns, len(ns))
	case !cceNameRe.MatchString(ns):
		e.report(o, "metadata.namespace", "namespace %q must match %s", ns, cceNamePattern)
	}
}

func checkSvcPortsPresent(_ *input, o *object, e *emitter) {
	if o.svcType() == "ExternalName" {
		return // SVC008 reports the type; ExternalName has no ports to require
	}
	raw := get(o.m, "spec", "ports")
	list, ok := raw.([]interface{})
	switch {
	case raw == nil:
		e.report(o, "spec.ports", "spec.ports is required: list the ports the Service exposes")
	case !ok:
		e.report(o, "spec.ports", "spec.ports must be a list of ports, not %s", typeName(raw))
	case len(list) == 0:
		e.report(o, "spec.ports", "spec.ports is empty; at least one port is required")
	default:
		for i, it := range list {
			if _, isMap := it.(map[string]interface{}); !isMap {
				e.report(o, manifest.Index("spec.ports", i), "port entry must be an object with port, protocol…, not %s", typeName(it))
			}
		}
	}
}

func checkSvcPort(_ *input, o *object, e *emitter) {
	for _, p := range o.ports() {
		f := p.path + ".port"
		raw, present := p.m["port"]
		n, ok := asInt(raw)
		switch {
		case !present || raw == nil:
			e.report(o, f, "port is required")
		case !ok:
			e.report(o, f, "port must be an integer, not %s %s", typeName(raw), show(raw))
		case n <= 0 || n > 65535:
			e.report(o, f, "port %d is out of range (0,65535]", n)
		}
	}
}

func checkSvcTargetPort(_ *input, o *object, e *emitter) {
	for _, p := range o.ports() {
		f := p.path + ".targetPort"
		raw, present := p.m["targetPort"]
		if !present || raw == nil {
			continue
		}
		if s, isStr := raw.(string); isStr {
			if s == "" {
				continue // the server uses the port itself
			}
			if msgs := validation.IsValidPortName(s); len(msgs) > 0 {
				if _, err := fmt.Sscanf(s, "%d", new(int)); err == nil {
					e.report(o, f, "targetPort %q is a string of digits, which is read as a port name; write the number without quotes", s)
				} else {
					e.report(o, f, "targetPort %q is not a valid port name (IANA_SVC_NAME): %s", s, strings.Join(msgs, "; "))
				}
			}
			continue
		}
		n, ok := asInt(raw)
		switch {
		case !ok:
			e.report(o, f, "targetPort must be a number or a port name, not %s", typeName(raw))
		case n == 0:
			// 0 means "same as port", as the server defaults it (the CCE API reference's example).
		case n < 1 || n > 65535:
			e.report(o, f, "targetPort %d is out of range 1-65535", n)
		}
	}
}

func checkSvcNodePort(_ *input, o *object, e *emitter) {
	for _, p := range o.ports() {
		f := p.path + ".nodePort"
		raw, present := p.m["nodePort"]
		if !present || raw == nil {
			continue
		}
		n, ok := asInt(raw)
		switch {
		case !ok:
			e.report(o, f, "nodePort must be an integer, not %s", typeName(raw))
		case n == 0:
			// unset: allocated by the system
		case n < 30000 || n > 32767:
			e.report(o, f, "nodePort %d is out of range [30000,32767]", n)
		}
	}
}

func checkSvcProtocol(_ *input, o *object, e *emitter) {
	for _, p := range o.ports() {
		raw, present := p.m["protocol"]
		if !present || raw == nil {
			continue
		}
		s, _ := raw.(string)
		switch s {
		case "", "TCP", "UDP":
			if _, isStr := raw.(string); isStr {
				continue
			}
		}
		hint := ""
		if up := strings.ToUpper(s); up == "TCP" || up == "UDP" {
			hint = fmt.Sprintf(" (write %s in capitals)", up)
		}
		e.report(o, p.path+".protocol", "protocol %s is not supported; use TCP or UDP%s", show(raw), hint)
	}
}

func checkSvcType(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "type")
	if raw == nil {
		return
	}
	s, _ := raw.(string)
	switch s {
	case "ClusterIP", "NodePort", "LoadBalancer":
		return
	case "":
		if _, isStr := raw.(string); isStr {
			return
		}
	}
	e.report(o, "spec.type", "type %s is not supported; use ClusterIP, NodePort or LoadBalancer", show(raw))
}

func checkSvcAffinity(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "sessionAffinity")
	if raw == nil {
		return
	}
	if s, _ := raw.(string); s == "ClientIP" || s == "None" || (s == "" && isString(raw)) {
		return
	}
	e.report(o, "spec.sessionAffinity", "sessionAffinity %s is not supported; use ClientIP or None", show(raw))
}

func isString(v interface{}) bool { _, ok := v.(string); return ok }

func checkSvcAffinityTimeout(_ *input, o *object, e *emitter) {
	if s, _ := get(o.m, "spec", "sessionAffinity").(string); s != "ClientIP" {
		return
	}
	raw := get(o.m, "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds")
	if raw == nil {
		return // defaults to 10800
	}
	n, ok := asInt(raw)
	f := "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
	switch {
	case !ok:
		e.report(o, f, "timeoutSeconds must be an integer, not %s", typeName(raw))
	case n <= 0 || n > 86400:
		e.report(o, f, "timeoutSeconds %d is out of range (0,86400] (at most one day)", n)
	}
}

func checkSvcPortNameFormat(_ *input, o *object, e *emitter) {
	for _, p := range o.ports() {
		raw, present := p.m["name"]
		if !present || raw == nil {
			continue
		}
		s, ok := raw.(string)
		switch {
		case !ok:
			e.report(o, p.path+".name", "port name must be a string, not %s", typeName(raw))
		case s == "":
			// absent; SVC013 decides whether it is needed
		case len(s) > 63:
			e.report(o, p.path+".name", "port name %q is %d characters; at most 63 are allowed", s, len(s))
		case !cceNameRe.MatchString(s):
			e.report(o, p.path+".name", "port name %q is not a DNS label (%s)", s, cceNamePattern)
		}
	}
}

func checkSvcPortNameUnique(_ *input, o *object, e *emitter) {
	seen := map[string]string{}
	for _, p := range o.ports() {
		s, _ := p.m["name"].(string)
		if s == "" {
			continue
		}
		if first, dup := seen[s]; dup {
			e.report(o, p.path+".name", "port name %q is already used by %s", s, first)
			continue
		}
		seen[s] = p.path
	}
}

func checkSvcPortNameRequired(_ *input, o *object, e *emitter) {
	ports := o.ports()
	if len(ports) < 2 {
		return
	}
	for _, p := range ports {
		if s, _ := p.m["name"].(string); s == "" {
			e.report(o, p.path+".name", "port name is required when the Service has more than one port")
		}
	}
}

func checkSvcClusterIP(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "clusterIP")
	if raw == nil {
		return
	}
	s, ok := raw.(string)
	switch {
	case !ok:
		e.report(o, "spec.clusterIP", "clusterIP must be a string, not %s", typeName(raw))
	case s == "" || s == "None" || isIP(s):
	case strings.EqualFold(s, "None"):
		e.report(o, "spec.clusterIP", `clusterIP %q: a headless Service is written "None" exactly`, s)
	default:
		e.report(o, "spec.clusterIP", `clusterIP %q is neither "None", empty nor an IP address`, s)
	}
}

func checkSvcReadOnly(_ *input, o *object, e *emitter) {
	md, _ := get(o.m, "metadata").(map[string]interface{})
	for _, k := range []string{"selfLink", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"} {
		if v, ok := md[k]; ok && v != nil && v != "" {
			e.report(o, "metadata."+k, "%s is populated by the server; remove it before creating the Service (the CCE API reference says setting it makes the call fail)", k)
		}
	}
}

func checkELBID(_ *input, o *object, e *emitter) {
	raw, present := o.annotation(annELBID)
	if !present {
		return
	}
	s, ok := raw.(string)
	if !ok {
		return // K8S002
	}
	if msg := checkUUID(s, "an ELB load balancer ID"); msg != "" {
		e.report(o, annotationPath(annELBID), "%s", msg)
	}
}

func checkELBClass(_ *input, o *object, e *emitter) {
	s, present := o.annotations()[annELBClass]
	if present && s != "union" && s != "performance" {
		e.report(o, annotationPath(annELBClass), "%q is not an ELB class; use union (shared ELB) or performance (dedicated ELB)", s)
	}
}

func checkELBAutocreate(_ *input, o *object, e *emitter) {
	ann := o.annotations()
	s, present := ann[annELBAutocreate]
	if !present {
		return
	}
	var v map[string]interface{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		e.report(o, annotationPath(annELBAutocreate), "value must be a JSON object describing the ELB to create: %v", err)
	}
	if _, both := ann[annELBID]; both {
		e.report(o, annotationPath(annELBAutocreate), "do not combine kubernetes.io/elb.autocreate with kubernetes.io/elb.id: either create an ELB or use an existing one")
	}
}

func checkELBAlgorithm(_ *input, o *object, e *emitter) {
	s, present := o.annotations()[annELBAlgorithm]
	if !present {
		return
	}
	switch s {
	case "ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP":
		return
	}
	e.report(o, annotationPath(annELBAlgorithm), "%q is not an ELB algorithm; use ROUND_ROBIN, LEAST_CONNECTIONS or SOURCE_IP", s)
}

func checkELBOnLoadBalancer(_ *input, o *object, e *emitter) {
	if o.svcType() == "LoadBalancer" {
		return
	}
	for _, k := range []string{annELBID, annELBClass, annELBAutocreate, annELBAlgorithm} {
		if _, present := o.annotation(k); present {
			e.report(o, annotationPath(k), "%s only takes effect on a Service of type LoadBalancer; this one is %s", k, o.svcType())
		}
	}
}
