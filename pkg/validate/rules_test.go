package validate

import (
	"fmt"
	"strings"
	"testing"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/manifest"
)

// svc builds a Service manifest from spec/metadata snippets (YAML, indented
// by the caller to sit under metadata: and spec:).
func svc(meta, spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n" + meta + "spec:\n" + spec
}

const okPorts = "  ports:\n  - name: http\n    port: 80\n"

func plb(spec string) string {
	return "apiVersion: loadbalancer.networking.openvessel.io/v1\nkind: PoolBinding\nmetadata:\n  name: b\n  namespace: ns\nspec:\n" + spec
}

// annotated is a valid binding with the given annotation lines.
func annotated(lines string) string {
	return strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n"+lines, 1)
}

// zoned is a binding named name of Service web port 80, to its own pool,
// taking zones.
func zoned(name, zones string) string {
	pool := fmt.Sprintf("  poolRef:\n    id: %08x-3b4a-4c5d-9e8f-7a6b5c4d3e2f\n", len(name)*7919+int(name[len(name)-1]))
	b := strings.Replace(plb(pool+okTarget), "name: b\n", "name: "+name+"\n", 1)
	return strings.Replace(b, "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/zones: "+zones+"\n", 1)
}

const okTarget = "  targetRef:\n    kind: Service\n    group: cci/v2\n    name: web\n    port: 80\n"
const okPool = "  poolRef:\n    id: 0c6d2f1e-3b4a-4c5d-9e8f-7a6b5c4d3e2f\n"

func deploy(tmplMeta string) string {
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    metadata:\n" + tmplMeta + "    spec:\n      containers:\n      - name: c\n        image: i\n        ports:\n        - containerPort: 8080\n"
}

// selectingSvc is Service ns/web selecting app=web.
const selectingSvc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  selector:\n    app: web\n" + okPorts

// gatedWorkload is a Deployment or StatefulSet "w" in ns whose pod
// template has the label line and declares the readiness gate gate ("" for none).
func gatedWorkload(kind, ns, label, gate string) string {
	gates := ""
	if gate != "" {
		gates = "      readinessGates:\n      - conditionType: " + gate + "\n"
	}
	return "apiVersion: apps/v1\nkind: " + kind + "\nmetadata:\n  name: w\n  namespace: " + ns + "\nspec:\n  template:\n    metadata:\n      labels:\n        " + label +
		"\n        tier: front\n    spec:\n" + gates + "      containers:\n      - name: c\n        image: i\n"
}

// ruleCase has a manifest that passes the rule and one that breaks it at
// field.
type ruleCase struct {
	rule      string
	platforms []string
	pass      string
	fail      string
	field     string
}

var ruleCases = []ruleCase{
	{rule: "SVC001", pass: svc("", okPorts), fail: strings.Replace(svc("", okPorts), "name: web", "name: web-service-name-is-too-long", 1), field: "metadata.name"},
	{rule: "SVC002", pass: svc("  namespace: team-a\n", okPorts), fail: svc("  namespace: team.a\n", okPorts), field: "metadata.namespace"},
	{rule: "SVC003", pass: svc("", okPorts), fail: svc("", "  type: ClusterIP\n"), field: "spec.ports"},
	{rule: "SVC004", pass: svc("", "  ports:\n  - port: 65535\n"), fail: svc("", "  ports:\n  - port: 65536\n"), field: "spec.ports[0].port"},
	{rule: "SVC005", pass: svc("", "  ports:\n  - port: 80\n    targetPort: http-alt\n"), fail: svc("", "  ports:\n  - port: 80\n    targetPort: -1\n"), field: "spec.ports[0].targetPort"},
	{rule: "SVC006", pass: svc("", "  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 32767\n"), fail: svc("", "  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 29999\n"), field: "spec.ports[0].nodePort"},
	{rule: "SVC007", pass: svc("", "  ports:\n  - port: 80\n    protocol: UDP\n"), fail: svc("", "  ports:\n  - port: 80\n    protocol: SCTP\n"), field: "spec.ports[0].protocol"},
	{rule: "SVC008", pass: svc("", "  type: LoadBalancer\n"+okPorts), fail: svc("", "  type: Loadbalancer\n"+okPorts), field: "spec.type"},
	{rule: "SVC009", pass: svc("", "  sessionAffinity: None\n"+okPorts), fail: svc("", "  sessionAffinity: Cookie\n"+okPorts), field: "spec.sessionAffinity"},
	{rule: "SVC010", pass: svc("", "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 86400\n"+okPorts),
		fail: svc("", "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 0\n"+okPorts), field: "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
	{rule: "SVC011", pass: svc("", okPorts), fail: svc("", "  ports:\n  - name: HTTP\n    port: 80\n"), field: "spec.ports[0].name"},
	{rule: "SVC012", pass: svc("", "  ports:\n  - name: a\n    port: 80\n  - name: b\n    port: 81\n"), fail: svc("", "  ports:\n  - name: a\n    port: 80\n  - name: a\n    port: 81\n"), field: "spec.ports[1].name"},
	{rule: "SVC013", pass: svc("", "  ports:\n  - port: 80\n"), fail: svc("", "  ports:\n  - name: a\n    port: 80\n  - port: 81\n"), field: "spec.ports[1].name"},
	{rule: "SVC014", pass: svc("", "  clusterIP: 10.247.0.10\n"+okPorts), fail: svc("", "  clusterIP: 10.247.0\n"+okPorts), field: "spec.clusterIP"},
	{rule: "SVC015", pass: svc("  creationTimestamp: null\n", okPorts), fail: svc("  resourceVersion: \"42\"\n", okPorts), field: "metadata.resourceVersion"},
	{rule: "ELB001", pass: svc("  annotations:\n    kubernetes.io/elb.id: 5d3c1a52-8f1e-4c7b-9a0e-2b6f7c8d9e10\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    kubernetes.io/elb.id: my-elb\n", "  type: LoadBalancer\n"+okPorts), field: "metadata.annotations[kubernetes.io/elb.id]"},
	{rule: "ELB002", pass: svc("  annotations:\n    kubernetes.io/elb.class: performance\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    kubernetes.io/elb.class: shared\n", "  type: LoadBalancer\n"+okPorts), field: "metadata.annotations[kubernetes.io/elb.class]"},
	{rule: "ELB003", pass: svc("  annotations:\n    kubernetes.io/elb.autocreate: '{\"type\":\"public\"}'\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    kubernetes.io/elb.autocreate: public\n", "  type: LoadBalancer\n"+okPorts), field: "metadata.annotations[kubernetes.io/elb.autocreate]"},
	{rule: "ELB004", pass: svc("  annotations:\n    kubernetes.io/elb.lb-algorithm: SOURCE_IP\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    kubernetes.io/elb.lb-algorithm: round_robin\n", "  type: LoadBalancer\n"+okPorts), field: "metadata.annotations[kubernetes.io/elb.lb-algorithm]"},
	{rule: "ELB005", pass: svc("  annotations:\n    kubernetes.io/elb.class: union\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    kubernetes.io/elb.class: union\n", okPorts), field: "metadata.annotations[kubernetes.io/elb.class]"},
	{rule: "PLB001", pass: plb(okPool + okTarget), fail: strings.Replace(plb(okPool+okTarget), "name: b", "name: B", 1), field: "metadata.name"},
	{rule: "PLB002", pass: plb(okPool + okTarget + "    namespace: ns\n"), fail: plb(okPool + okTarget + "    namespace: other\n"), field: "spec.targetRef.namespace"},
	{rule: "PLB003", pass: plb(okPool + okTarget), fail: plb(okPool + strings.Replace(okTarget, "kind: Service", "kind: StatefulSet", 1)), field: "spec.targetRef.kind"},
	{rule: "PLB004", pass: plb(okPool + strings.Replace(okTarget, "group: cci/v2", "group: v1", 1)), fail: plb(okPool + strings.Replace(okTarget, "group: cci/v2", "group: v2", 1)), field: "spec.targetRef.group"},
	{rule: "PLB005", pass: plb(okPool + okTarget), fail: plb(okPool + strings.Replace(okTarget, "group: cci/v2", "group: apps/v1", 1)), field: "spec.targetRef.group"},
	{rule: "PLB006", pass: plb(okPool + okTarget), fail: plb(okPool + strings.Replace(okTarget, "name: web", "name: web.v2", 1)), field: "spec.targetRef.name"},
	{rule: "PLB007", pass: plb(okPool + okTarget), fail: plb(okPool + strings.Replace(okTarget, "port: 80", "port: 65536", 1)), field: "spec.targetRef.port"},
	{rule: "PLB008", pass: plb(okPool + okTarget), fail: plb("  poolRef:\n    id: e08*****-****-****-****-********29c1\n" + okTarget), field: "spec.poolRef.id"},
	{rule: "PLB009", pass: plb(okPool+okTarget) + "---\n" + strings.Replace(plb(strings.Replace(okPool, "0c6d", "1c6d", 1)+okTarget), "name: b", "name: c", 1),
		fail: plb(okPool+okTarget) + "---\n" + strings.Replace(plb(okPool+okTarget), "name: b", "name: c", 1), field: "spec.poolRef.id"},
	{rule: "PLB010", pass: svc("  namespace: ns\n  annotations:\n    kubernetes.io/elb.id: 5d3c1a52-8f1e-4c7b-9a0e-2b6f7c8d9e10\n", "  type: LoadBalancer\n"+okPorts) + "---\n" + plb(okPool+okTarget),
		fail: svc("  namespace: ns\n  annotations:\n    kubernetes.io/elb.id: 0c6d2f1e-3b4a-4c5d-9e8f-7a6b5c4d3e2f\n", "  type: LoadBalancer\n"+okPorts) + "---\n" + plb(okPool+okTarget), field: "spec.poolRef.id"},
	{rule: "PLB011", pass: svc("  namespace: ns\n", okPorts) + "---\n" + plb(okPool+okTarget),
		fail: svc("  namespace: ns\n", "  ports:\n  - port: 8080\n") + "---\n" + plb(okPool+okTarget), field: "spec.targetRef.port"},
	{rule: "PLB011", pass: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: 80\n---\n" + plb(okPool+strings.Replace(okTarget, "kind: Service", "kind: Deployment", 1)),
		fail: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - containerPort: 81\n---\n" + plb(okPool+strings.Replace(okTarget, "kind: Service", "kind: Deployment", 1)), field: "spec.targetRef.port"},
	{rule: "PLB012", pass: plb(okPool + okTarget), fail: strings.Replace(plb(okPool+okTarget), "loadbalancer.networking.openvessel.io/v1", "cci/v2", 1), field: "apiVersion"},
	{rule: "PLB014", pass: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/weight: \"0\"\n", 1),
		fail: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/weight: \"101\"\n", 1), field: "metadata.annotations[loadbalancer.networking.openvessel.io/weight]"},
	{rule: "PLB015", pass: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/zones: cn-north-4a,cn-north-4b\n", 1),
		fail: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/zones: cn-north-4a,,cn-north-4b\n", 1), field: "metadata.annotations[loadbalancer.networking.openvessel.io/zones]"},
	{rule: "PLB015", pass: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/node-selector: pool in (a,b)\n", 1),
		fail: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/node-selector: \"pool in (a\"\n", 1), field: "metadata.annotations[loadbalancer.networking.openvessel.io/node-selector]"},
	{rule: "PLB016", pass: annotated("    loadbalancer.networking.openvessel.io/region: cn-south-1\n    loadbalancer.networking.openvessel.io/zones: cn-south-1a,cn-south-1c\n"),
		fail: annotated("    loadbalancer.networking.openvessel.io/region: South China\n"), field: "metadata.annotations[loadbalancer.networking.openvessel.io/region]"},
	{rule: "PLB016", pass: annotated("    loadbalancer.networking.openvessel.io/region: cn-north-4\n"),
		fail: annotated("    loadbalancer.networking.openvessel.io/region: cn-north-4\n    loadbalancer.networking.openvessel.io/zones: cn-north-4a,cn-south-1a\n"), field: "metadata.annotations[loadbalancer.networking.openvessel.io/zones]"},
	{rule: "PLB017", pass: annotated("    loadbalancer.networking.openvessel.io/zones: ap-southeast-1a\n"),
		fail: annotated("    loadbalancer.networking.openvessel.io/zones: cn-north-4a,north-4b\n"), field: "metadata.annotations[loadbalancer.networking.openvessel.io/zones]"},
	{rule: "PLB018", pass: zoned("b1", "cn-north-4a") + "---\n" + zoned("b2", "cn-north-4b,cn-north-4c"),
		fail: zoned("b1", "cn-north-4a") + "---\n" + zoned("b2", "cn-north-4b,cn-north-4a"), field: "metadata.annotations[loadbalancer.networking.openvessel.io/zones]"},
	{rule: "PLB018", pass: plb(okPool+okTarget) + "---\n" + strings.Replace(strings.Replace(plb(okPool+okTarget), "name: b\n", "name: b2\n", 1), "0c6d2f1e", "1c6d2f1e", 1),
		fail: zoned("b1", "cn-north-4a") + "---\n" + strings.Replace(plb(okPool+okTarget), "0c6d2f1e", "1c6d2f1e", 1), field: "metadata.annotations[loadbalancer.networking.openvessel.io/zones]"},
	{rule: "PLB019", pass: svc("", okPorts),
		fail: svc("  annotations:\n    openyurt.io/topologyKeys: openyurt.io/nodepool\n", okPorts), field: "metadata.annotations[openyurt.io/topologyKeys]"},
	{rule: "PLB020", pass: gatedWorkload("Deployment", "ns", "app: web", "loadbalancer.networking.openvessel.io/pool.b") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget),
		fail: gatedWorkload("Deployment", "ns", "app: web", "loadbalancer.networking.openvessel.io/pool.other") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), field: "spec.template.spec.readinessGates"},
	{rule: "PLB014", pass: plb(okPool + okTarget),
		fail: strings.Replace(plb(okPool+okTarget), "  namespace: ns\n", "  namespace: ns\n  annotations:\n    loadbalancer.networking.openvessel.io/weight: 7\n", 1), field: "metadata.annotations[loadbalancer.networking.openvessel.io/weight]"},
	{rule: "PLB013", pass: svc("  namespace: ns\n", okPorts) + "---\n" + plb(okPool+okTarget),
		fail: svc("  namespace: prod\n", okPorts) + "---\n" + plb(okPool+okTarget), field: "metadata.namespace"},
	{rule: "CCI001", platforms: []string{"cci"}, pass: strings.Replace(svc("", okPorts), "apiVersion: v1", "apiVersion: cci/v2", 1), fail: svc("", okPorts), field: "apiVersion"},
	{rule: "BLB001", platforms: []string{"serverless-blb"}, pass: svc("", "  ports:\n  - name: a\n    port: 53\n  - name: b\n    port: 54\n    protocol: TCP\n"),
		fail: svc("  annotations:\n    service.kubernetes.io/cce-appblb-udp-health-check-string: hc\n", "  ports:\n  - name: a\n    port: 53\n    protocol: UDP\n  - name: b\n    port: 53\n"), field: "spec.ports[1]"},
	{rule: "BLB002", platforms: []string{"serverless-blb"}, pass: svc("  annotations:\n    service.kubernetes.io/cce-appblb-udp-health-check-string: hc\n", "  ports:\n  - port: 53\n    protocol: UDP\n"),
		fail: svc("", "  ports:\n  - port: 53\n    protocol: UDP\n"), field: "metadata.annotations[service.kubernetes.io/cce-appblb-udp-health-check-string]"},
	{rule: "BLB003", platforms: []string{"serverless-blb"}, pass: svc("", "  clusterIP: None\n"+okPorts), fail: svc("", "  clusterIP: 172.16.0.5\n"+okPorts), field: "spec.clusterIP"},
	{rule: "KPX001", platforms: []string{"serverless-kube-proxy"}, pass: deploy("      annotations:\n        bci.virtual-kubelet.io/kube-proxy-enabled: \"true\"\n") + "---\n" + svc("", okPorts),
		fail: deploy("      labels:\n        app: d\n") + "---\n" + svc("", okPorts), field: "spec.template.metadata.annotations[bci.virtual-kubelet.io/kube-proxy-enabled]"},
	{rule: "KPX002", platforms: []string{"serverless-kube-proxy"}, pass: deploy("      annotations:\n        bci.virtual-kubelet.io/kube-proxy-enabled: \"false\"\n"),
		fail: deploy("      annotations:\n        bci.virtual-kubelet.io/kube-proxy-enabled: \"on\"\n"), field: "spec.template.metadata.annotations[bci.virtual-kubelet.io/kube-proxy-enabled]"},
	{rule: "EDG001", platforms: []string{"edge-nodepool"}, pass: svc("  annotations:\n    service.openyurt.io/nodepool-labelselector: k8s-svc=cube,region in (hefei,chengdu)\n", "  type: LoadBalancer\n  loadBalancerClass: alibabacloud.com/elb\n"+okPorts),
		fail: svc("  annotations:\n    service.openyurt.io/nodepool-labelselector: k8s-svc=cube;x\n", "  type: LoadBalancer\n  loadBalancerClass: alibabacloud.com/elb\n"+okPorts), field: "metadata.annotations[service.openyurt.io/nodepool-labelselector]"},
	{rule: "EDG002", platforms: []string{"edge-nodepool"},
		pass:  svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n", "  externalTrafficPolicy: Local\n"+okPorts) + "---\n" + strings.Replace(svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-2\n", okPorts), "name: web", "name: web2", 1),
		fail:  svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n", "  externalTrafficPolicy: Local\n"+okPorts) + "---\n" + strings.Replace(svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n", okPorts), "name: web", "name: web2", 1),
		field: "spec.externalTrafficPolicy"},
	{rule: "EDG003", platforms: []string{"edge-nodepool"},
		pass:  svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-managed-by-user: \"true\"\n", okPorts) + "---\n" + strings.Replace(svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-managed-by-user: \"true\"\n", okPorts), "name: web", "name: web2", 1),
		fail:  svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-managed-by-user: \"true\"\n", okPorts) + "---\n" + strings.Replace(svc("  annotations:\n    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id: lb-1\n", okPorts), "name: web", "name: web2", 1),
		field: "metadata.annotations[service.beta.kubernetes.io/alibaba-cloud-loadbalancer-managed-by-user]"},
	{rule: "EDG004", platforms: []string{"edge-nodepool"}, pass: svc("  annotations:\n    service.openyurt.io/nodepool-labelselector: k8s-svc=cube\n", "  type: LoadBalancer\n  loadBalancerClass: alibabacloud.com/elb\n"+okPorts),
		fail: svc("  annotations:\n    service.openyurt.io/nodepool-labelselector: k8s-svc=cube\n", "  type: LoadBalancer\n"+okPorts), field: "spec.loadBalancerClass"},
	{rule: "EDG005", platforms: []string{"edge-nodepool"}, pass: svc("", "  type: LoadBalancer\n  loadBalancerClass: alibabacloud.com/elb\n"+okPorts),
		fail: svc("", "  type: LoadBalancer\n  loadBalancerClass: alibabacloud.com/nlb\n"+okPorts), field: "spec.loadBalancerClass"},
	{rule: "K8S001", pass: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", fail: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a: b\n", field: "metadata.name"},
	{rule: "K8S002", pass: svc("  labels:\n    port: \"80\"\n", okPorts), fail: svc("  labels:\n    port: 80\n", okPorts), field: "metadata.labels.port"},
	{rule: "K8S003", pass: svc("  labels:\n    app.kubernetes.io/name: web\n", okPorts), fail: svc("  labels:\n    app: has spaces\n", okPorts), field: "metadata.labels.app"},
	{rule: "K8S004", pass: svc("", "  ports:\n  - name: a\n    port: 53\n  - name: b\n    port: 53\n    protocol: UDP\n"), fail: svc("", "  ports:\n  - name: a\n    port: 53\n  - name: b\n    port: 53\n"), field: "spec.ports[1]"},
	{rule: "K8S005", pass: svc("", "  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 30080\n"), fail: svc("", "  ports:\n  - port: 80\n    nodePort: 30080\n"), field: "spec.ports[0].nodePort"},
	{rule: "K8S006", pass: svc("", okPorts), fail: strings.Replace(svc("", okPorts), "name: web", "name: 1web", 1), field: "metadata.name"},
	{rule: "K8S007", pass: svc("", "  type: LoadBalancer\n  loadBalancerClass: example.com/lb\n"+okPorts), fail: svc("", "  loadBalancerClass: example.com/lb\n"+okPorts), field: "spec.loadBalancerClass"},
	{rule: "K8S008", pass: svc("", "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 60\n"+okPorts),
		fail: svc("", "  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: 60\n"+okPorts), field: "spec.sessionAffinityConfig"},
	{rule: "DPC001", pass: svc("  annotations:\n    service.cloud.tencent.com/direct-access: \"false\"\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    service.cloud.tencent.com/direct-access: enabled\n", "  type: LoadBalancer\n"+okPorts), field: "metadata.annotations[service.cloud.tencent.com/direct-access]"},
	{rule: "DPC002", pass: svc("  annotations:\n    service.cloud.tencent.com/direct-access: \"true\"\n", "  type: LoadBalancer\n"+okPorts),
		fail: svc("  annotations:\n    service.cloud.tencent.com/direct-access: \"true\"\n", "  type: NodePort\n"+okPorts), field: "metadata.annotations[service.cloud.tencent.com/direct-access]"},
	{rule: ManifestRuleID, pass: svc("", okPorts), fail: svc("", "  ports:\n  - name: http   // the web port\n    port: 80\n"), field: "spec.ports[0].name"},
}

func findingsFor(t *testing.T, data string, platforms []string) []Finding {
	t.Helper()
	docs := manifest.Decode("case.yaml", []byte(data))
	return Validate(docs, Options{Platforms: platforms})
}

func TestRules(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.rule, func(t *testing.T) {
			for _, f := range findingsFor(t, c.pass, c.platforms) {
				if f.RuleID == c.rule {
					t.Errorf("passing manifest reported: %s\n%s", f, c.pass)
				}
			}
			found := false
			var all []Finding
			for _, f := range findingsFor(t, c.fail, c.platforms) {
				all = append(all, f)
				if f.RuleID == c.rule && f.Field == c.field {
					found = true
					if f.Doc == "" || f.Message == "" || f.Line == 0 || f.Source != "case.yaml" {
						t.Errorf("finding lacks doc, message, line or source: %+v", f)
					}
				}
			}
			if !found {
				t.Errorf("failing manifest: want %s on %s, got\n%s", c.rule, c.field, findingsText(all))
			}
		})
	}
}

// TestEveryRuleHasCases keeps the table honest: a new rule needs a case.
func TestEveryRuleHasCases(t *testing.T) {
	have := map[string]bool{}
	for _, c := range ruleCases {
		have[c.rule] = true
	}
	for _, r := range Rules() {
		if !have[r.ID] {
			t.Errorf("rule %s has no passing/failing case in ruleCases", r.ID)
		}
		if r.Doc == "" || r.Description == "" || r.Field == "" || (r.Severity != SeverityError && r.Severity != SeverityWarning) {
			t.Errorf("rule %s is missing metadata: %+v", r.ID, r)
		}
	}
}

func TestPlatformsAndDisabling(t *testing.T) {
	blb := svc("", "  clusterIP: 172.16.0.5\n"+okPorts)
	has := func(fs []Finding, id string) bool {
		for _, f := range fs {
			if f.RuleID == id {
				return true
			}
		}
		return false
	}
	if has(findingsFor(t, blb, nil), "BLB003") {
		t.Error("serverless-blb rules must not run by default")
	}
	if !has(findingsFor(t, blb, []string{"serverless-blb"}), "BLB003") {
		t.Error("BLB003 must run with --platform=serverless-blb")
	}
	if has(findingsFor(t, svc("", okPorts), nil), "CCI001") {
		t.Error("CCI001 contradicts CCE and must be off by default")
	}
	long := strings.Replace(svc("", okPorts), "name: web", "name: web-service-name-is-too-long", 1)
	if fs := Validate(manifest.Decode("x.yaml", []byte(long)), Options{Disabled: map[string]bool{"SVC001": true}}); has(fs, "SVC001") {
		t.Error("disabled rule SVC001 still reported")
	}
	if has(findingsFor(t, long, []string{"kubernetes"}), "SVC001") {
		t.Error("cce rule ran with --platform=kubernetes only")
	}
	if err := CheckOptions(Options{Platforms: []string{"cce", "nope"}, Disabled: map[string]bool{"XYZ999": true}}); err == nil ||
		!strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), `"XYZ999"`) {
		t.Errorf("CheckOptions: want unknown platform and rule errors, got %v", err)
	}
	if err := CheckOptions(Options{Platforms: []string{"edge-nodepool"}, Disabled: map[string]bool{"EDG001": true}}); err != nil {
		t.Errorf("CheckOptions on valid options: %v", err)
	}
	if !HasErrors([]Finding{{Severity: SeverityWarning}}, true) || HasErrors([]Finding{{Severity: SeverityWarning}}, false) ||
		!HasErrors([]Finding{{Severity: SeverityError}}, false) {
		t.Error("HasErrors: warnings count only when strict")
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{RuleID: "SVC004", Severity: "error", Source: "svc.yaml", Line: 7, Object: "Service/ns/web", Field: "spec.ports[0].port", Message: "port 0 is out of range (0,65535]", Doc: "CCE API Reference 2.0, \"Creating a Service\""}
	want := "svc.yaml:7: error SVC004 Service/ns/web spec.ports[0].port: port 0 is out of range (0,65535] [CCE API Reference 2.0, \"Creating a Service\"]"
	if f.String() != want {
		t.Errorf("got  %s\nwant %s", f, want)
	}
}

// PLB020 fires for the workloads the binding's Service selects, in its
// namespace, that lack that binding's gate (hash-shortened for long
// names), and names the exact condition type to add.
func TestReadinessGateRule(t *testing.T) {
	long := strings.Repeat("b", 70)
	longGate := lbv1.ReadinessGateConditionType(long)
	longPLB := strings.Replace(plb(okPool+okTarget), "name: b\n", "name: "+long+"\n", 1)
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"statefulset without gate", gatedWorkload("StatefulSet", "ns", "app: web", "") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), true},
		{"cci/v2 deployment without gate", strings.Replace(gatedWorkload("Deployment", "ns", "app: web", ""), "apps/v1", "cci/v2", 1) + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), true},
		{"namesake Service without namespace listed first", svc("", okPorts) + "---\n" + gatedWorkload("Deployment", "ns", "app: web", "") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), true},
		{"other namespace", gatedWorkload("Deployment", "prod", "app: web", "") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), false},
		{"not selected", gatedWorkload("Deployment", "ns", "app: db", "") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), false},
		{"no binding", gatedWorkload("Deployment", "ns", "app: web", "") + "---\n" + selectingSvc, false},
		{"service not in the input", gatedWorkload("Deployment", "ns", "app: web", "") + "---\n" + plb(okPool+okTarget), false},
		{"daemonset is not rolled by surge", gatedWorkload("DaemonSet", "ns", "app: web", "") + "---\n" + selectingSvc + "---\n" + plb(okPool+okTarget), false},
		{"long name, plain gate", gatedWorkload("Deployment", "ns", "app: web", "loadbalancer.networking.openvessel.io/pool."+long) + "---\n" + selectingSvc + "---\n" + longPLB, true},
		{"long name, shortened gate", gatedWorkload("Deployment", "ns", "app: web", longGate) + "---\n" + selectingSvc + "---\n" + longPLB, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Finding
			for _, f := range findingsFor(t, tc.in, nil) {
				if f.RuleID == "PLB020" {
					got = append(got, f)
				}
			}
			if (len(got) > 0) != tc.want {
				t.Fatalf("PLB020 findings %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			name, gate := "b", "loadbalancer.networking.openvessel.io/pool.b"
			if strings.Contains(tc.name, "long") {
				name, gate = long, longGate
			}
			if len(got) != 1 || got[0].Severity != SeverityWarning || !strings.HasSuffix(got[0].Object, "/ns/w") ||
				!strings.Contains(got[0].Message, "PoolBinding "+name+" ") || !strings.Contains(got[0].Message, "conditionType: "+gate+"}") ||
				!strings.Contains(got[0].Message, "Service web") {
				t.Errorf("finding %+v", got)
			}
		})
	}
}
