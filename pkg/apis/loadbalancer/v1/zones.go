package v1

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Zone scoping and region. A binding with ZonesAnnotation and/or
// NodeSelectorAnnotation is zone-scoped: it takes only the endpoints in one
// of the listed zones and/or on a node the selector matches (both must hold
// when both are set). An endpoint whose zone (or node) is not known is not
// taken by a zone-scoped binding.
const (
	// ZonesAnnotation lists availability zones, comma-separated, e.g.
	// "cn-north-4a,cn-north-4b".
	ZonesAnnotation = GroupName + "/zones"
	// NodeSelectorAnnotation is a label selector on Nodes (a node pool),
	// e.g. "pool=edge" or "pool in (a,b)".
	NodeSelectorAnnotation = GroupName + "/node-selector"
	// RegionAnnotation names the region of the binding's pool, e.g.
	// "cn-north-4"; the zones listed must belong to it.
	RegionAnnotation = GroupName + "/region"
	// ZoneLabel is the well-known label carrying a Node's zone (also read
	// from pods that have no node, as on CCI 2.0).
	ZoneLabel = "topology.kubernetes.io/zone"
)

// ParseZones reads a ZonesAnnotation value: comma-separated names, spaces
// around them ignored, duplicates dropped; an empty entry is an error.
func ParseZones(v string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, z := range strings.Split(v, ",") {
		z = strings.TrimSpace(z)
		if z == "" {
			return nil, fmt.Errorf("annotation %s: %q has an empty zone name", ZonesAnnotation, v)
		}
		if !seen[z] {
			seen[z] = true
			out = append(out, z)
		}
	}
	return out, nil
}

// Zones returns the zones the binding is scoped to, nil without the
// annotation. With a (valid) RegionAnnotation every zone must be one of
// that region's: a zone of another region has no endpoints for this pool.
func (b *PoolBinding) Zones() ([]string, error) {
	v, ok := b.Annotations[ZonesAnnotation]
	if !ok {
		return nil, nil
	}
	zones, err := ParseZones(v)
	if err != nil {
		return nil, err
	}
	if region, err := b.Region(); err == nil && region != "" {
		for _, z := range zones {
			if !ZoneInRegion(z, region) {
				return nil, fmt.Errorf("annotation %s: zone %q is not in region %s (annotation %s); a zone of region %s is named %sa, %sb, …",
					ZonesAnnotation, z, region, RegionAnnotation, region, region, region)
			}
		}
	}
	return zones, nil
}

// zoneName is the documented form of an availability zone name: its
// region's name and one letter, e.g. "cn-north-4a".
var zoneName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$`)

// ValidZoneName reports whether z has the form of a zone name.
func ValidZoneName(z string) bool { return zoneName.MatchString(z) }

// ZoneInRegion reports whether zone z belongs to region r.
func ZoneInRegion(z, r string) bool {
	return len(z) == len(r)+1 && strings.HasPrefix(z, r) && z[len(r)] >= 'a' && z[len(r)] <= 'z'
}

// NodeSelector returns the binding's node selector, nil without the
// annotation. An empty selector would match every node, which is not what
// a node pool means, so it is an error.
func (b *PoolBinding) NodeSelector() (labels.Selector, error) {
	v, ok := b.Annotations[NodeSelectorAnnotation]
	if !ok {
		return nil, nil
	}
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("annotation %s is empty; it must select a node pool", NodeSelectorAnnotation)
	}
	sel, err := labels.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", NodeSelectorAnnotation, err)
	}
	return sel, nil
}

// regionName is the documented form of a Huawei Cloud region name:
// a geography, one or more words and a number, e.g. "cn-north-4",
// "ap-southeast-1", "cn-east-3", "la-north-2".
var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ValidRegionName reports whether r has the form of a region name.
func ValidRegionName(r string) bool { return regionName.MatchString(r) }

// Region returns the region of the binding's pool from RegionAnnotation,
// "" without the annotation (the pass's own region).
func (b *PoolBinding) Region() (string, error) {
	v, ok := b.Annotations[RegionAnnotation]
	if !ok {
		return "", nil
	}
	if !ValidRegionName(v) {
		return "", fmt.Errorf("annotation %s: %q is not a region name (such as cn-north-4)", RegionAnnotation, v)
	}
	return v, nil
}
