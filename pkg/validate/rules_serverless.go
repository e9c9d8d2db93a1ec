package validate

import (
	"fmt"
	"strings"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// Annotations of Baidu CCE's serverless Service page.
const (
	annBLBUDPHealthCheck = "service.kubernetes.io/cce-appblb-udp-health-check-string"
	annKubeProxyEnabled  = "bci.virtual-kubelet.io/kube-proxy-enabled"
)

func init() {
	blb := func(id, field, desc string, check func(in *input, o *object, e *emitter)) rule {
		return rule{
			RuleInfo: RuleInfo{ID: id, Platform: PlatformServerlessBLB, Severity: SeverityWarning, Field: field, Description: desc, Doc: docBaiduServerless},
			check: func(in *input, o *object, e *emitter) {
				// ExternalName Services get no BLB.
				if o.isService() && o.svcType() != "ExternalName" {
					check(in, o, e)
				}
			},
		}
	}
	register(
		blb("BLB001", "spec.ports[i]", "one Service may not expose the same port for both TCP and UDP (split it into two Services)", checkBLBSamePort),
		blb("BLB002", annotationPath(annBLBUDPHealthCheck), "a Service with UDP ports needs the "+annBLBUDPHealthCheck+" annotation", checkBLBUDPHealthCheck),
		blb("BLB003", "spec.clusterIP", "clusterIP may not be preset: the BLB's VPC IP becomes the ClusterIP", checkBLBClusterIP),
		rule{
			RuleInfo: RuleInfo{ID: "KPX001", Platform: PlatformServerlessKubeProxy, Severity: SeverityWarning, Field: "spec.template.metadata.annotations[" + annKubeProxyEnabled + "]",
				Description: "in kube-proxy mode, workloads whose pods reach Services carry " + annKubeProxyEnabled + `: "true" in their pod template (checked when the input has Services)`,
				Doc:         docBaiduServerless},
			cross: crossKubeProxyMissing,
		},
		rule{
			RuleInfo: RuleInfo{ID: "KPX002", Platform: PlatformServerlessKubeProxy, Severity: SeverityWarning, Field: "spec.template.metadata.annotations[" + annKubeProxyEnabled + "]",
				Description: annKubeProxyEnabled + ` is a boolean string, "true" or "false"`, Doc: docBaiduServerless},
			check: checkKubeProxyValue,
		},
	)
}

func checkBLBSamePort(_ *input, o *object, e *emitter) {
	byPort := map[int64]map[string]string{} // port -> protocol -> path
	for _, p := range o.ports() {
		n, ok := asInt(p.m["port"])
		if !ok {
			continue
		}
		proto := strings.ToUpper(p.protocol())
		if byPort[n] == nil {
			byPort[n] = map[string]string{}
		}
		byPort[n][proto] = p.path
		other := map[string]string{"TCP": "UDP", "UDP": "TCP"}[proto]
		if first, clash := byPort[n][other]; clash {
			e.report(o, p.path, "port %d is exposed for both TCP and UDP (also at %s); a BLB cannot do both on one Service, split it into two Services", n, first)
		}
	}
}

func checkBLBUDPHealthCheck(_ *input, o *object, e *emitter) {
	var udp []string
	for _, p := range o.ports() {
		if strings.ToUpper(p.protocol()) == "UDP" {
			n, _ := asInt(p.m["port"])
			udp = append(udp, fmt.Sprint(n))
		}
	}
	if len(udp) == 0 {
		return
	}
	if s := o.annotations()[annBLBUDPHealthCheck]; strings.TrimSpace(s) != "" {
		return
	}
	e.report(o, annotationPath(annBLBUDPHealthCheck), "UDP port(s) %s need a UDP health check string in annotation %s", strings.Join(udp, ", "), annBLBUDPHealthCheck)
}

func checkBLBClusterIP(_ *input, o *object, e *emitter) {
	if s, _ := get(o.m, "spec", "clusterIP").(string); s != "" && s != "None" {
		e.report(o, "spec.clusterIP", "clusterIP %q is preset; in BLB mode the ClusterIP is the BLB's VPC IP and cannot be chosen at creation, remove it", s)
	}
	if list, _ := get(o.m, "spec", "clusterIPs").([]interface{}); len(list) > 0 {
		for i, v := range list {
			if s, _ := v.(string); s != "" && s != "None" {
				e.report(o, manifest.Index("spec.clusterIPs", i), "clusterIPs %q is preset; in BLB mode the ClusterIP cannot be chosen at creation, remove it", s)
			}
		}
	}
}

// podTemplateMeta returns the path and metadata of a workload's pod
// template (a Pod's own metadata), or ok=false for non-workloads.
func podTemplateMeta(o *object) (path string, md map[string]interface{}, ok bool) {
	var p []string
	switch {
	case o.is("Pod", coreGroups...):
		p = []string{"metadata"}
	case o.is("Deployment", appsGroups...), o.is("StatefulSet", appsGroups...), o.is("DaemonSet", appsGroups...),
		o.is("ReplicaSet", appsGroups...), o.is("Job", "batch"), o.is("ReplicationController", coreGroups...):
		p = []string{"spec", "template", "metadata"}
	case o.is("CronJob", "batch"):
		p = []string{"spec", "jobTemplate", "spec", "template", "metadata"}
	default:
		return "", nil, false
	}
	md, _ = get(o.m, p...).(map[string]interface{})
	return strings.Join(p, "."), md, true
}

func crossKubeProxyMissing(in *input, e *emitter) {
	hasService := false
	for _, o := range in.objects {
		if o.isService() {
			hasService = true
			break
		}
	}
	if !hasService {
		return
	}
	for _, o := range in.objects {
		path, md, ok := podTemplateMeta(o)
		if !ok {
			continue
		}
		ann, _ := md["annotations"].(map[string]interface{})
		if _, present := ann[annKubeProxyEnabled]; present {
			continue
		}
		e.report(o, manifest.Child(path+".annotations", annKubeProxyEnabled), "pods of %s carry no %s annotation; in kube-proxy mode they cannot reach Services without it (set it to \"true\" in the pod template)", o.ref(), annKubeProxyEnabled)
	}
}

func checkKubeProxyValue(_ *input, o *object, e *emitter) {
	path, md, ok := podTemplateMeta(o)
	if !ok {
		return
	}
	ann, _ := md["annotations"].(map[string]interface{})
	raw, present := ann[annKubeProxyEnabled]
	if !present {
		return
	}
	if s, isStr := raw.(string); isStr && (s == "true" || s == "false") {
		return
	}
	e.report(o, manifest.Child(path+".annotations", annKubeProxyEnabled), "%s is %s; it takes the string \"true\" or \"false\" (quote it in YAML)", annKubeProxyEnabled, show(raw))
}
