package validate

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Annotations and values of ACK Edge's multi-region ELB page.
const (
	annNodePoolSelector = "service.openyurt.io/nodepool-labelselector"
	annAlibabaLBID      = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"
	annAlibabaManaged   = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-managed-by-user"
	classEdgeELB        = "alibabacloud.com/elb"
)

// documentedLBClasses are the loadBalancerClass values ACK Edge documents.
var documentedLBClasses = []string{classEdgeELB}

func init() {
	edge := func(id, sev, field, desc string) RuleInfo {
		return RuleInfo{ID: id, Platform: PlatformEdgeNodePool, Severity: sev, Field: field, Description: desc, Doc: docACKEdgeELB}
	}
	onService := func(check func(in *input, o *object, e *emitter)) func(in *input, o *object, e *emitter) {
		return func(in *input, o *object, e *emitter) {
			if o.isService() {
				check(in, o, e)
			}
		}
	}
	register(
		rule{RuleInfo: edge("EDG001", SeverityWarning, annotationPath(annNodePoolSelector), annNodePoolSelector+" parses as a non-empty label selector (e.g. k8s-svc=cube)"), check: onService(checkEdgeSelector)},
		rule{RuleInfo: edge("EDG002", SeverityWarning, "spec.externalTrafficPolicy", "Services that share one ELB (same "+annAlibabaLBID+" in the input) use externalTrafficPolicy: Cluster"), cross: crossEdgeSharedPolicy},
		rule{RuleInfo: edge("EDG003", SeverityWarning, annotationPath(annAlibabaManaged), "Services that share one ELB use a self-managed ELB ("+annAlibabaManaged+`: "true")`), cross: crossEdgeSharedManaged},
		rule{RuleInfo: edge("EDG004", SeverityWarning, "spec.loadBalancerClass", "a multi-region Service (with "+annNodePoolSelector+") is type LoadBalancer with loadBalancerClass "+classEdgeELB), check: onService(checkEdgeMultiRegion)},
		rule{RuleInfo: edge("EDG005", SeverityWarning, "spec.loadBalancerClass", "loadBalancerClass is one of the documented values: "+strings.Join(documentedLBClasses, ", ")), check: onService(checkEdgeClass)},
	)
}

func checkEdgeSelector(_ *input, o *object, e *emitter) {
	raw, present := o.annotation(annNodePoolSelector)
	s, ok := raw.(string)
	if !present || !ok {
		return // non-strings: K8S002
	}
	if strings.TrimSpace(s) == "" {
		e.report(o, annotationPath(annNodePoolSelector), "the node pool selector is empty; it would select no node pool explicitly (write e.g. k8s-svc=cube)")
		return
	}
	if _, err := labels.Parse(s); err != nil {
		e.report(o, annotationPath(annNodePoolSelector), "%q is not a label selector: %v", s, err)
	}
}

// sharedELBs groups the input's Services by the ELB ID they name, keeping
// only IDs named by more than one Service.
func sharedELBs(in *input) (ids []string, byID map[string][]*object) {
	byID = map[string][]*object{}
	for _, o := range in.objects {
		if !o.isService() {
			continue
		}
		if id := strings.TrimSpace(o.annotations()[annAlibabaLBID]); id != "" {
			byID[id] = append(byID[id], o)
		}
	}
	for id, svcs := range byID {
		if len(svcs) > 1 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, byID
}

func others(all []*object, self *object) string {
	var s []string
	for _, o := range all {
		if o != self {
			s = append(s, o.ref())
		}
	}
	return strings.Join(s, ", ")
}

func crossEdgeSharedPolicy(in *input, e *emitter) {
	ids, byID := sharedELBs(in)
	for _, id := range ids {
		for _, o := range byID[id] {
			// Unset means Cluster, the API default.
			if p, _ := get(o.m, "spec", "externalTrafficPolicy").(string); p != "" && p != "Cluster" {
				e.report(o, "spec.externalTrafficPolicy", "externalTrafficPolicy is %q but this Service shares ELB %q with %s; Services sharing one ELB must use Cluster", p, id, others(byID[id], o))
			}
		}
	}
}

func crossEdgeSharedManaged(in *input, e *emitter) {
	ids, byID := sharedELBs(in)
	for _, id := range ids {
		for _, o := range byID[id] {
			if o.annotations()[annAlibabaManaged] != "true" {
				e.report(o, annotationPath(annAlibabaManaged), "this Service shares ELB %q with %s; sharing needs a self-managed ELB: set %s: \"true\"", id, others(byID[id], o), annAlibabaManaged)
			}
		}
	}
}

func checkEdgeMultiRegion(_ *input, o *object, e *emitter) {
	if _, present := o.annotation(annNodePoolSelector); !present {
		return
	}
	if t := o.svcType(); t != "LoadBalancer" {
		e.report(o, "spec.type", "a Service selecting node pools (%s) is exposed through ELB only as type LoadBalancer, not %s", annNodePoolSelector, t)
	}
	if c, _ := get(o.m, "spec", "loadBalancerClass").(string); c != classEdgeELB {
		if c == "" {
			e.report(o, "spec.loadBalancerClass", "an ELB Service needs loadBalancerClass: %s", classEdgeELB)
		} else {
			e.report(o, "spec.loadBalancerClass", "loadBalancerClass %q: an ELB Service needs loadBalancerClass: %s", c, classEdgeELB)
		}
	}
}

func checkEdgeClass(_ *input, o *object, e *emitter) {
	c, ok := get(o.m, "spec", "loadBalancerClass").(string)
	if !ok || c == "" {
		return
	}
	if _, multiRegion := o.annotation(annNodePoolSelector); multiRegion {
		return // EDG004 already demands the ELB class
	}
	for _, d := range documentedLBClasses {
		if c == d {
			return
		}
	}
	e.report(o, "spec.loadBalancerClass", "loadBalancerClass %q is not documented for edge node pools (documented: %s); the edge controller may ignore the Service", c, strings.Join(documentedLBClasses, ", "))
}
