package validate

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/manifest"
)

// PoolBinding's API group/version (pkg/apis/loadbalancer/v1).
const poolBindingAPIVersion = "loadbalancer.networking.openvessel.io/v1"

func init() {
	plb := func(id, sev, field, desc, doc string, check func(in *input, o *object, e *emitter)) rule {
		return rule{
			RuleInfo: RuleInfo{ID: id, Platform: PlatformCCI, Severity: sev, Field: field, Description: desc, Doc: doc, Default: true},
			check: func(in *input, o *object, e *emitter) {
				if o.kind == "PoolBinding" {
					check(in, o, e)
				}
			},
		}
	}
	cross := func(id, sev, field, desc, doc string, cross func(in *input, e *emitter)) rule {
		return rule{RuleInfo: RuleInfo{ID: id, Platform: PlatformCCI, Severity: sev, Field: field, Description: desc, Doc: doc, Default: true}, cross: cross}
	}
	register(
		plb("PLB001", SeverityError, "metadata.name", "PoolBinding name is a DNS-1123 subdomain (lowercase letters, digits, '-', '.', at most 253 characters)", docCCIPoolBinding, checkPLBName),
		plb("PLB002", SeverityWarning, "spec.targetRef.namespace", "a PoolBinding lives in its Service's namespace: targetRef.namespace, when set, equals metadata.namespace", docCCIPoolBinding, checkPLBNamespace),
		plb("PLB003", SeverityError, "spec.targetRef.kind", "targetRef.kind is Service or Deployment", docCCIPoolBindingLimits, checkPLBKind),
		plb("PLB004", SeverityWarning, "spec.targetRef.group", "targetRef.group is a group/version such as cci/v2", docCCIPoolBinding, checkPLBGroup),
		plb("PLB005", SeverityWarning, "spec.targetRef.group", "targetRef.group is cci/v2, the group/version of every CCI 2.0 resource", docCCIccictl, checkPLBGroupCCI),
		plb("PLB006", SeverityWarning, "spec.targetRef.name", "targetRef.name names the Service (DNS label) or Deployment (DNS subdomain)", docCCIPoolBinding, checkPLBTargetName),
		plb("PLB007", SeverityError, "spec.targetRef.port", "targetRef.port is an integer in 1-65535 (the Service's port, or the Deployment's container port)", docCCIPoolBinding, checkPLBPort),
		plb("PLB008", SeverityWarning, "spec.poolRef.id", "poolRef.id is a backend server group ID (UUID); masked IDs copied from the docs are not IDs", docCCIPoolBinding, checkPLBPoolID),
		plb("PLB012", SeverityError, "apiVersion", "PoolBinding's apiVersion is "+poolBindingAPIVersion, docCCIPoolBinding, checkPLBAPIVersion),
		cross("PLB009", SeverityWarning, "spec.poolRef.id", "two PoolBindings in the input may not bind the same backend server group", docCCIPoolBindingLimits, crossPLBSamePool),
		cross("PLB010", SeverityWarning, "spec.poolRef.id", "the pool may not be the one of the target Service's own load balancer (where the input shows the link, e.g. the Service's kubernetes.io/elb.id annotation)", docCCIPoolBinding, crossPLBOwnLB),
		cross("PLB011", SeverityWarning, "spec.targetRef.port", "when the target is in the input, targetRef.port is one of the Service's spec.ports[].port (or a containerPort of the Deployment)", docCCIPoolBinding, crossPLBTargetPort),
		plb("PLB014", SeverityWarning, annotationPath(lbv1.WeightAnnotation), "the "+lbv1.WeightAnnotation+" annotation, when set, is an integer 0-100 (the ELB member weight sync keeps the binding's members at)", docELBWeight, checkPLBWeight),
		plb("PLB015", SeverityError, annotationPath(lbv1.ZonesAnnotation), "the "+lbv1.ZonesAnnotation+" annotation lists zone names separated by commas, and the "+lbv1.NodeSelectorAnnotation+" annotation is a non-empty label selector (sync blocks a binding whose scope it cannot read)", docSyncZones, checkPLBZoneScope),
		plb("PLB016", SeverityError, annotationPath(lbv1.RegionAnnotation), "the "+lbv1.RegionAnnotation+" annotation is a region name such as cn-north-4, and every zone of the "+lbv1.ZonesAnnotation+" annotation belongs to that region (sync fails or blocks the binding otherwise)", docSyncRegions, checkPLBRegion),
		plb("PLB017", SeverityWarning, annotationPath(lbv1.ZonesAnnotation), "zone names have the form of an availability zone, a region name and a letter such as cn-north-4a (sync matches the names as written: a misspelt zone takes no endpoint)", docSyncZones, checkPLBZoneNames),
		cross("PLB018", SeverityWarning, annotationPath(lbv1.ZonesAnnotation), "zone-scoped PoolBindings of one Service port do not overlap: no zone is listed by two of them, and none is unscoped beside them (each endpoint would be a member of two pools)", docSyncZones, crossPLBZoneOverlap),
		rule{
			RuleInfo: RuleInfo{ID: "PLB019", Platform: PlatformCCI, Severity: SeverityWarning, Field: "metadata.annotations",
				Description: "OpenYurt's topology annotations on a Service (openyurt.io/topologyKeys, service.openyurt.io/nodepool-labelselector, as ACK Edge documents them) have no effect on CCI 2.0: the PoolBinding's zones/node-selector annotations split the endpoints there",
				Doc:         docACKEdgeELB, Default: true},
			check: checkServiceOpenYurt,
		},
		cross("PLB020", SeverityWarning, "spec.template.spec.readinessGates", "a Deployment or StatefulSet whose pod template the target Service of a PoolBinding selects declares that binding's readiness gate (conditionType "+lbv1.ReadinessGatePrefix+"<binding-name>), so that with 'ccictl sync --watch' its rolling updates wait for the load balancer", docWatchGates, crossPLBReadinessGate),
		cross("PLB013", SeverityWarning, "metadata.namespace", "when the target Service is in the input only in another namespace, the binding is in the wrong namespace", docCCIPoolBinding, crossPLBTargetNamespace),
		rule{
			RuleInfo: RuleInfo{ID: "CCI001", Platform: PlatformCCI, Severity: SeverityError, Field: "apiVersion",
				Description: "CCI 2.0 objects (Service, Deployment, Pod…) use apiVersion cci/v2; v1 and apps/v1 fail (off by default: CCE uses v1)",
				Doc:         docCCIccictl, Default: false},
			check: checkCCIAPIVersion,
		},
	)
}

// cciKinds are the kinds CCI 2.0 serves under cci/v2 (the vendor's ccictl and CCI 2.0 API pages).
var cciKinds = map[string]bool{
	"Namespace": true, "Pod": true, "Deployment": true, "ReplicaSet": true, "Service": true, "ConfigMap": true,
	"Secret": true, "PersistentVolumeClaim": true, "PersistentVolume": true, "HorizontalPodAutoscaler": true,
}

func checkCCIAPIVersion(_ *input, o *object, e *emitter) {
	if cciKinds[o.kind] && o.apiVersion != "cci/v2" {
		e.report(o, "apiVersion", "%s on CCI 2.0 uses apiVersion cci/v2, not %q (ccictl fails with v1 or apps/v1)", o.kind, o.apiVersion)
	}
}

func targetRef(o *object) map[string]interface{} {
	m, _ := get(o.m, "spec", "targetRef").(map[string]interface{})
	return m
}

func checkPLBName(_ *input, o *object, e *emitter) {
	md, _ := get(o.m, "metadata").(map[string]interface{})
	raw, present := md["name"]
	if !present || raw == nil {
		return // K8S001
	}
	s, ok := raw.(string)
	if !ok {
		e.report(o, "metadata.name", "name must be a string, not %s", typeName(raw))
		return
	}
	if msgs := validation.IsDNS1123Subdomain(s); len(msgs) > 0 {
		e.report(o, "metadata.name", "name %q is not valid: %s", s, strings.Join(msgs, "; "))
	}
}

func checkPLBNamespace(_ *input, o *object, e *emitter) {
	if ns, _ := get(o.m, "metadata", "namespace").(string); ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			e.report(o, "metadata.namespace", "namespace %q is not valid: %s", ns, strings.Join(msgs, "; "))
		}
	}
	tns, _ := targetRef(o)["namespace"].(string)
	if tns != "" && o.namespace != "" && tns != o.namespace {
		e.report(o, "spec.targetRef.namespace", "targetRef.namespace %q differs from the PoolBinding's namespace %q; a PoolBinding must be created in the namespace of its Service", tns, o.namespace)
	}
}

func checkPLBWeight(_ *input, o *object, e *emitter) {
	raw, present := o.annotation(lbv1.WeightAnnotation)
	if !present {
		return
	}
	v, ok := raw.(string)
	if !ok {
		e.report(o, annotationPath(lbv1.WeightAnnotation), "annotation values are strings; quote the weight (%s)", show(raw))
		return
	}
	if _, err := lbv1.ParseWeight(v); err != nil {
		e.report(o, annotationPath(lbv1.WeightAnnotation), "%q is not an integer from %d to %d; sync would refuse the binding (InvalidWeight)", v, lbv1.MinWeight, lbv1.MaxWeight)
	}
}

func checkPLBKind(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "targetRef")
	if raw == nil {
		e.report(o, "spec.targetRef", "spec.targetRef is required: the Service (or Deployment) whose endpoints fill the pool")
		return
	}
	tr, ok := raw.(map[string]interface{})
	if !ok {
		e.report(o, "spec.targetRef", "spec.targetRef must be an object, not %s", typeName(raw))
		return
	}
	switch k := tr["kind"]; k {
	case "Service", "Deployment":
	case nil:
		e.report(o, "spec.targetRef.kind", "targetRef.kind is required: Service or Deployment")
	default:
		e.report(o, "spec.targetRef.kind", "targetRef.kind %s is not supported; a PoolBinding targets a Service or a Deployment", show(k))
	}
}

func checkPLBGroup(_ *input, o *object, e *emitter) {
	tr := targetRef(o)
	if tr == nil {
		return
	}
	raw, present := tr["group"]
	if !present || raw == nil {
		e.report(o, "spec.targetRef.group", "targetRef.group is required: the group/version of the target, cci/v2 on CCI 2.0")
		return
	}
	s, ok := raw.(string)
	if !ok {
		e.report(o, "spec.targetRef.group", "targetRef.group must be a string, not %s", typeName(raw))
		return
	}
	if msg := groupVersionProblem(s); msg != "" {
		e.report(o, "spec.targetRef.group", "targetRef.group %q %s; write group/version, such as cci/v2", s, msg)
	}
}

// groupVersionProblem explains why s is not "group/version" (or "v1", the
// core group's only version, which a plain cluster's Service has), or "".
func groupVersionProblem(s string) string {
	g, v, found := strings.Cut(s, "/")
	switch {
	case s == "v1":
		return ""
	case !found:
		return "has no version"
	case g == "":
		return "has an empty group"
	case len(validation.IsDNS1123Subdomain(g)) > 0:
		return "has an invalid group"
	case v == "" || len(validation.IsDNS1035Label(v)) > 0:
		return "has an invalid version"
	}
	return ""
}

func checkPLBGroupCCI(_ *input, o *object, e *emitter) {
	s, ok := targetRef(o)["group"].(string)
	if ok && s != "cci/v2" && groupVersionProblem(s) == "" {
		e.report(o, "spec.targetRef.group", "targetRef.group %q: CCI 2.0 serves Services and Deployments as cci/v2; other group/versions such as v1 or apps/v1 fail", s)
	}
}

func checkPLBTargetName(_ *input, o *object, e *emitter) {
	tr := targetRef(o)
	if tr == nil {
		return
	}
	raw, present := tr["name"]
	s, ok := raw.(string)
	switch {
	case !present || raw == nil || (ok && s == ""):
		e.report(o, "spec.targetRef.name", "targetRef.name is required: the name of the target %s", kindOr(tr, "Service"))
	case !ok:
		e.report(o, "spec.targetRef.name", "targetRef.name must be a string, not %s", typeName(raw))
	case tr["kind"] == "Deployment":
		if msgs := validation.IsDNS1123Subdomain(s); len(msgs) > 0 {
			e.report(o, "spec.targetRef.name", "%q is not a Deployment name: %s", s, strings.Join(msgs, "; "))
		}
	default:
		if msgs := validation.IsDNS1123Label(s); len(msgs) > 0 {
			e.report(o, "spec.targetRef.name", "%q is not a Service name: %s", s, strings.Join(msgs, "; "))
		}
	}
}

func kindOr(tr map[string]interface{}, def string) string {
	if k, _ := tr["kind"].(string); k != "" {
		return k
	}
	return def
}

func checkPLBPort(_ *input, o *object, e *emitter) {
	tr := targetRef(o)
	if tr == nil {
		return
	}
	raw, present := tr["port"]
	n, ok := asInt(raw)
	switch {
	case !present || raw == nil:
		e.report(o, "spec.targetRef.port", "targetRef.port is required: the Service's access port (or the Deployment's container port)")
	case !ok:
		e.report(o, "spec.targetRef.port", "targetRef.port must be an integer, not %s %s", typeName(raw), show(raw))
	case n < 1 || n > 65535:
		e.report(o, "spec.targetRef.port", "targetRef.port %d is out of range 1-65535", n)
	}
}

func checkPLBPoolID(_ *input, o *object, e *emitter) {
	raw := get(o.m, "spec", "poolRef", "id")
	if raw == nil {
		e.report(o, "spec.poolRef.id", "spec.poolRef.id is required: the ID of the ELB backend server group to fill")
		return
	}
	s, ok := raw.(string)
	if !ok {
		e.report(o, "spec.poolRef.id", "poolRef.id must be a string, not %s", typeName(raw))
		return
	}
	if msg := checkUUID(s, "a backend server group ID"); msg != "" {
		e.report(o, "spec.poolRef.id", "%s", msg)
	}
}

func checkPLBAPIVersion(_ *input, o *object, e *emitter) {
	if o.apiVersion != poolBindingAPIVersion {
		e.report(o, "apiVersion", "PoolBinding is served as %s, not %q", poolBindingAPIVersion, o.apiVersion)
	}
}

// bindings returns the PoolBindings of the input.
func bindings(in *input) []*object {
	var out []*object
	for _, o := range in.objects {
		if o.kind == "PoolBinding" {
			out = append(out, o)
		}
	}
	return out
}

func poolID(o *object) string {
	s, _ := get(o.m, "spec", "poolRef", "id").(string)
	return strings.ToLower(strings.TrimSpace(s))
}

func where(o *object) string {
	return fmt.Sprintf("%s (%s:%d)", o.ref(), o.doc.Source, o.doc.Line)
}

func crossPLBSamePool(in *input, e *emitter) {
	first := map[string]*object{}
	for _, b := range bindings(in) {
		id := poolID(b)
		if id == "" {
			continue
		}
		if f, dup := first[id]; dup {
			e.report(b, "spec.poolRef.id", "backend server group %q is already bound by %s; one pool takes one PoolBinding", id, where(f))
			continue
		}
		first[id] = b
	}
}

// bindingNamespace is the namespace a binding's target lives in.
func bindingNamespace(b *object) string {
	if ns, _ := targetRef(b)["namespace"].(string); ns != "" {
		return ns
	}
	return b.namespace
}

// sameNamespace treats an unset namespace as "whatever -n says", which
// matches anything: the input alone cannot tell them apart.
func sameNamespace(a, b string) bool { return a == "" || b == "" || a == b }

// target finds the object a binding points at in the input: one in the
// binding's namespace if there is one, else one without a namespace (-n
// decides it at run time), so that several files validated together do
// not pair a binding with another namespace's namesake.
func target(in *input, b *object) *object {
	tr := targetRef(b)
	kind, _ := tr["kind"].(string)
	name, _ := tr["name"].(string)
	if name == "" {
		return nil
	}
	ns := bindingNamespace(b)
	var loose *object
	for _, o := range in.objects {
		if o.name != name || !sameNamespace(o.namespace, ns) {
			continue
		}
		if (kind == "Service" && o.isService()) || (kind == "Deployment" && o.is("Deployment", appsGroups...)) {
			if o.namespace == ns {
				return o
			}
			if loose == nil {
				loose = o
			}
		}
	}
	return loose
}

func crossPLBOwnLB(in *input, e *emitter) {
	for _, b := range bindings(in) {
		id := poolID(b)
		svc := target(in, b)
		if id == "" || svc == nil || !svc.isService() {
			continue
		}
		ann := svc.annotations()
		keys := make([]string, 0, len(ann))
		for k := range ann {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !strings.Contains(strings.ToLower(ann[k]), id) {
				continue
			}
			if k == annELBID {
				e.report(b, "spec.poolRef.id", "%q is the load balancer of the target Service %s (annotation %s); a PoolBinding needs a backend server group ID, and not a group of the Service's own load balancer", id, where(svc), k)
			} else {
				e.report(b, "spec.poolRef.id", "pool %q belongs to the target Service's own load balancer (annotation %s on %s); bind a separate backend server group", id, k, where(svc))
			}
			break
		}
	}
}

func crossPLBTargetPort(in *input, e *emitter) {
	for _, b := range bindings(in) {
		port, ok := asInt(targetRef(b)["port"])
		t := target(in, b)
		if !ok || t == nil {
			continue
		}
		if t.isService() {
			var have []string
			targetPortHit := false
			for _, p := range t.ports() {
				n, _ := asInt(p.m["port"])
				if n == port {
					have = nil
					break
				}
				have = append(have, fmt.Sprint(n))
				if tp, _ := asInt(p.m["targetPort"]); tp == port {
					targetPortHit = true
				}
			}
			if have != nil {
				hint := ""
				if targetPortHit {
					hint = "; it is a targetPort, but a Service binding names the Service's access port (spec.ports[].port)"
				}
				e.report(b, "spec.targetRef.port", "Service %s has no port %d (ports: %s)%s", where(t), port, strings.Join(have, ", "), hint)
			}
			continue
		}
		var have []string
		containers, _ := get(t.m, "spec", "template", "spec", "containers").([]interface{})
		found := false
		for _, c := range containers {
			cm, _ := c.(map[string]interface{})
			ports, _ := cm["ports"].([]interface{})
			for _, p := range ports {
				pm, _ := p.(map[string]interface{})
				n, _ := asInt(pm["containerPort"])
				if n == port {
					found = true
				}
				have = append(have, fmt.Sprint(n))
			}
		}
		if !found {
			if len(have) == 0 {
				have = []string{"none"}
			}
			e.report(b, "spec.targetRef.port", "Deployment %s declares no containerPort %d (container ports: %s)", where(t), port, strings.Join(have, ", "))
		}
	}
}

func crossPLBTargetNamespace(in *input, e *emitter) {
	for _, b := range bindings(in) {
		tr := targetRef(b)
		name, _ := tr["name"].(string)
		ns := bindingNamespace(b)
		if tr["kind"] != "Service" || name == "" || ns == "" || target(in, b) != nil {
			continue
		}
		var elsewhere []string
		for _, o := range in.objects {
			if o.isService() && o.name == name && o.namespace != "" {
				elsewhere = append(elsewhere, o.namespace)
			}
		}
		if len(elsewhere) > 0 {
			e.report(b, manifest.Child("metadata", "namespace"), "the PoolBinding is in namespace %q but Service %q is in namespace %s in this input; a PoolBinding must be in its Service's namespace", ns, name, strings.Join(elsewhere, ", "))
		}
	}
}

func checkPLBZoneScope(_ *input, o *object, e *emitter) {
	for _, key := range []string{lbv1.ZonesAnnotation, lbv1.NodeSelectorAnnotation} {
		raw, present := o.annotation(key)
		if !present {
			continue
		}
		v, ok := raw.(string)
		if !ok {
			e.report(o, annotationPath(key), "annotation values are strings, not %s", show(raw))
			continue
		}
		b := lbv1.PoolBinding{}
		b.Annotations = map[string]string{key: v}
		var err error
		if key == lbv1.ZonesAnnotation {
			_, err = b.Zones()
		} else {
			_, err = b.NodeSelector()
		}
		if err != nil {
			e.report(o, annotationPath(key), "%v; sync would block the binding", err)
		}
	}
}

func stringAnnotation(o *object, key string) (string, bool) {
	raw, present := o.annotation(key)
	v, ok := raw.(string)
	return v, present && ok
}

func checkPLBRegion(_ *input, o *object, e *emitter) {
	region, ok := stringAnnotation(o, lbv1.RegionAnnotation)
	if !ok {
		return
	}
	b := lbv1.PoolBinding{}
	b.Annotations = map[string]string{lbv1.RegionAnnotation: region}
	if _, err := b.Region(); err != nil {
		e.report(o, annotationPath(lbv1.RegionAnnotation), "%v; sync fails the binding", err)
		return
	}
	zones, ok := stringAnnotation(o, lbv1.ZonesAnnotation)
	if !ok {
		return
	}
	b.Annotations[lbv1.ZonesAnnotation] = zones
	if _, err := lbv1.ParseZones(zones); err != nil {
		return // PLB015's
	}
	if _, err := b.Zones(); err != nil {
		e.report(o, annotationPath(lbv1.ZonesAnnotation), "%v; sync blocks the binding", err)
	}
}

func checkPLBZoneNames(_ *input, o *object, e *emitter) {
	v, ok := stringAnnotation(o, lbv1.ZonesAnnotation)
	if !ok {
		return
	}
	zones, err := lbv1.ParseZones(v)
	if err != nil {
		return // PLB015's
	}
	for _, z := range zones {
		if !lbv1.ValidZoneName(z) {
			e.report(o, annotationPath(lbv1.ZonesAnnotation), "%q is not an availability zone name (a region name and a letter, such as cn-north-4a); no endpoint is in a zone of that name", z)
		}
	}
}

// crossPLBZoneOverlap: bindings of one Service port split its endpoints
// by zone; a zone two of them list, or an unscoped binding beside scoped
// ones, puts an endpoint into two pools.
func crossPLBZoneOverlap(in *input, e *emitter) {
	type key struct {
		ns, name string
		port     string
	}
	groups := map[key][]*object{}
	var order []key
	for _, b := range bindings(in) {
		tr := targetRef(b)
		name, _ := tr["name"].(string)
		if name == "" {
			continue
		}
		k := key{bindingNamespace(b), name, fmt.Sprint(tr["port"])}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], b)
	}
	for _, k := range order {
		bs := groups[k]
		if len(bs) < 2 {
			continue
		}
		scoped := false
		zonesOf := map[*object][]string{}
		for _, b := range bs {
			_, z := b.annotation(lbv1.ZonesAnnotation)
			_, n := b.annotation(lbv1.NodeSelectorAnnotation)
			scoped = scoped || z || n
			if v, ok := stringAnnotation(b, lbv1.ZonesAnnotation); ok {
				zonesOf[b], _ = lbv1.ParseZones(v)
			}
		}
		if !scoped {
			continue // one Service in several pools on purpose: not a zone split
		}
		firstBy := map[string]*object{}
		for _, b := range bs {
			_, z := b.annotation(lbv1.ZonesAnnotation)
			_, n := b.annotation(lbv1.NodeSelectorAnnotation)
			if !z && !n {
				e.report(b, annotationPath(lbv1.ZonesAnnotation), "Service %s/%s port %s has zone-scoped PoolBindings, but this one takes every zone: endpoints of the scoped zones are members of both pools", k.ns, k.name, k.port)
				continue
			}
			for _, zone := range zonesOf[b] {
				if f := firstBy[zone]; f != nil {
					e.report(b, annotationPath(lbv1.ZonesAnnotation), "zone %s is also taken by %s for the same Service port: its endpoints are members of both pools", zone, where(f))
					continue
				}
				firstBy[zone] = b
			}
		}
	}
}

// openYurtServiceAnnotations are OpenYurt's ways (as ACK Edge documents them) of splitting a Service's
// endpoints by node pool, which CCI 2.0 does not read.
var openYurtServiceAnnotations = []string{"openyurt.io/topologyKeys", "service.openyurt.io/nodepool-labelselector"}

func checkServiceOpenYurt(_ *input, o *object, e *emitter) {
	if o.kind != "Service" {
		return
	}
	for _, key := range openYurtServiceAnnotations {
		if _, present := o.annotation(key); present {
			e.report(o, annotationPath(key), "%s is OpenYurt's and has no effect on CCI 2.0; to feed one pool per zone or node pool, give each PoolBinding the %s or %s annotation", key, lbv1.ZonesAnnotation, lbv1.NodeSelectorAnnotation)
		}
	}
}

// crossPLBReadinessGate warns about workloads whose pods a binding's
// Service selects (pod template labels match the Service's selector, same
// namespace) that do not declare the binding's readiness gate.
func crossPLBReadinessGate(in *input, e *emitter) {
	for _, b := range bindings(in) {
		if targetRef(b)["kind"] != "Service" || b.name == "" {
			continue
		}
		svc := target(in, b)
		if svc == nil {
			continue
		}
		sel, _ := get(svc.m, "spec", "selector").(map[string]interface{})
		if len(sel) == 0 {
			continue
		}
		gate := lbv1.ReadinessGateConditionType(b.name)
		for _, w := range in.objects {
			if !w.is("Deployment", appsGroups...) && !w.is("StatefulSet", appsGroups...) {
				continue
			}
			if !sameNamespace(w.namespace, bindingNamespace(b)) || !selectsTemplate(sel, w) || declaresGate(w, gate) {
				continue
			}
			e.report(w, "spec.template.spec.readinessGates",
				"%s %s runs pods of Service %s, which PoolBinding %s fills pool %s from, but its pod template lacks the binding's readiness gate: add readinessGates: [{conditionType: %s}] to spec.template.spec so that rolling updates wait until the load balancer reports each new pod ONLINE ('ccictl sync --watch' sets the condition; without the controller running, a gated pod never becomes Ready)",
				w.kind, w.name, svc.name, b.name, poolID(b), gate)
		}
	}
}

// selectsTemplate: every selector label is on w's pod template.
func selectsTemplate(sel map[string]interface{}, w *object) bool {
	labels, _ := get(w.m, "spec", "template", "metadata", "labels").(map[string]interface{})
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || fmt.Sprint(lv) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

func declaresGate(w *object, gate string) bool {
	gates, _ := get(w.m, "spec", "template", "spec", "readinessGates").([]interface{})
	for _, g := range gates {
		if gm, _ := g.(map[string]interface{}); gm != nil && gm["conditionType"] == gate {
			return true
		}
	}
	return false
}
