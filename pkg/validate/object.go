package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"regexp"
	"strings"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// input is everything Validate was given that decoded.
type input struct {
	objects []*object
}

// object is a decoded document with the fields every rule needs. Rules read
// the raw map through the typed helpers below, which never panic on
// unexpected shapes (the input is arbitrary user data).
type object struct {
	doc        *manifest.Document
	index      int // position of doc in Validate's input
	m          map[string]interface{}
	apiVersion string
	group      string
	kind       string
	name       string
	namespace  string
}

func newObject(d *manifest.Document) *object {
	o := &object{doc: d, m: d.Object.Object}
	o.apiVersion, _ = o.m["apiVersion"].(string)
	o.kind, _ = o.m["kind"].(string)
	if i := strings.LastIndex(o.apiVersion, "/"); i >= 0 {
		o.group = o.apiVersion[:i]
	}
	o.name, _ = get(o.m, "metadata", "name").(string)
	o.namespace, _ = get(o.m, "metadata", "namespace").(string)
	return o
}

// ref is kind/namespace/name, or kind/name without a namespace.
func (o *object) ref() string {
	name := o.name
	if name == "" {
		if g, _ := get(o.m, "metadata", "generateName").(string); g != "" {
			name = g + "*"
		}
	}
	if o.namespace == "" {
		return o.kind + "/" + name
	}
	return o.kind + "/" + o.namespace + "/" + name
}

// is reports whether o has kind and a group among groups ("" = core).
func (o *object) is(kind string, groups ...string) bool {
	if o.kind != kind {
		return false
	}
	for _, g := range groups {
		if g == o.group {
			return true
		}
	}
	return false
}

// Groups under which the workload and core kinds are served: upstream and
// CCI 2.0's cci/v2.
var (
	coreGroups = []string{"", "cci"}
	appsGroups = []string{"apps", "cci"}
)

func (o *object) isService() bool { return o.is("Service", coreGroups...) }

// svcType is spec.type with the API default.
func (o *object) svcType() string {
	if t, ok := get(o.m, "spec", "type").(string); ok && t != "" {
		return t
	}
	return "ClusterIP"
}

// stringMap returns the string-valued entries of a metadata map
// (annotations, labels); non-string values are K8S002's business.
func stringMap(m map[string]interface{}, path ...string) map[string]string {
	out := map[string]string{}
	if mm, ok := get(m, path...).(map[string]interface{}); ok {
		for k, v := range mm {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

func (o *object) annotations() map[string]string {
	return stringMap(o.m, "metadata", "annotations")
}

// annotation returns the value of an annotation, whether it is present,
// and the raw value (which may be a non-string).
func (o *object) annotation(key string) (raw interface{}, present bool) {
	mm, _ := get(o.m, "metadata", "annotations").(map[string]interface{})
	raw, present = mm[key]
	return raw, present
}

// annotationPath is the field path of annotation key.
func annotationPath(key string) string {
	return manifest.Child("metadata.annotations", key)
}

// get walks nested maps; nil when any step is missing or not a map.
func get(m map[string]interface{}, path ...string) interface{} {
	var cur interface{} = m
	for _, p := range path {
		mm, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// port is one entry of spec.ports with its field path.
type svcPort struct {
	path string
	m    map[string]interface{}
}

// ports returns the map entries of spec.ports; others are skipped
// (SVC003 reports them).
func (o *object) ports() []svcPort {
	list, _ := get(o.m, "spec", "ports").([]interface{})
	var out []svcPort
	for i, it := range list {
		if m, ok := it.(map[string]interface{}); ok {
			out = append(out, svcPort{path: manifest.Index("spec.ports", i), m: m})
		}
	}
	return out
}

// protocol is the port's protocol with the API default TCP.
func (p svcPort) protocol() string {
	if s, ok := p.m["protocol"].(string); ok && s != "" {
		return s
	}
	return "TCP"
}

// asInt converts a decoded JSON number to an integer. ok is false for
// non-numbers and for numbers with a fraction.
func asInt(v interface{}) (n int64, ok bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// show renders a value for a message: strings quoted, others as JSON.
func show(v interface{}) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// typeName names the JSON type of v for messages.
func typeName(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, int, float64, json.Number:
		return "a number"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// uuidRe is the form of ELB IDs (load balancers, backend server groups).
var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkUUID explains why s is not an ELB ID, or returns "".
func checkUUID(s, what string) string {
	switch {
	case s == "":
		return fmt.Sprintf("is empty; it must be %s (UUID, like 3f2a…-…)", what)
	case uuidRe.MatchString(s):
		return ""
	case strings.Contains(s, "*"):
		return fmt.Sprintf("%q is not %s (UUID): it is masked with '*', as the documentation prints IDs; copy the real ID from the ELB console or API", s, what)
	default:
		return fmt.Sprintf("%q is not %s (UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s, what)
	}
}

// isIP reports whether s is an IPv4 or IPv6 address.
func isIP(s string) bool { return net.ParseIP(s) != nil }
