package poolsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Ownership marker.
//
// Every member sync adds carries, in its `name`, a marker naming the cluster
// and the binding:
//
//	ccictl:<cluster-id>:<namespace>/<name>:<uid>
//
// The cluster id tells this cluster's bindings from another cluster's that
// feed the same pool (a blue/green migration, one Service in two regions):
// members of another cluster are foreign, never orphans. The uid tells a
// re-created binding of the same name from the deleted one, whose members
// then become orphans rather than "ours". Kubernetes names cannot contain
// ':' or '/', and a cluster id may not either, so the marker parses
// unambiguously. ELB member names may be 255 characters long; a binding name
// may be 253, so names longer than maxMarkerName are shortened to a prefix,
// '~' (which no Kubernetes name contains) and a hash of the full name,
// keeping every marker within MaxMarkerLen (248).
//
// The earlier form without the cluster id, ccictl:<namespace>/<name>:<uid>
// ("legacy"), is read as this cluster's: a binding owns members with its
// legacy marker too and re-marks them to the current form (batch-update of
// the name, no removal).
const (
	markerPrefix = "ccictl:"

	maxNamespace  = 63  // DNS-1123 label
	maxObjectName = 253 // DNS-1123 subdomain
	maxUID        = 64  // real UIDs are 36-character UUIDs
	maxMarkerName = 63
	hashLen       = 8
	// MaxClusterID is the longest cluster id: it keeps every marker within
	// MaxMarkerLen (a namespace UID, the default, has 36 characters).
	MaxClusterID = 48
	// MaxMarkerLen bounds len(Marker(o)) for every valid owner, 7 below
	// the ELB's 255.
	MaxMarkerLen = len(markerPrefix) + MaxClusterID + 1 + maxNamespace + 1 + maxMarkerName + 1 + maxUID
)

// Owner identifies the PoolBinding a member belongs to. Cluster is the
// cluster's identity (ValidateClusterID); in an Owner that ParseMarker read
// from a legacy marker it is "".
type Owner struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Cluster   string `json:"cluster,omitempty"`
}

func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// ValidateClusterID reports whether id can name a cluster in a marker:
// 1-48 letters, digits, '-', '_' or '.'.
func ValidateClusterID(id string) error {
	if id == "" || len(id) > MaxClusterID {
		return fmt.Errorf("cluster id %q must be 1-%d characters long", id, MaxClusterID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("cluster id %q may contain only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

// ValidateOwner reports whether o can be written into a marker. Name may be
// a full object name or the shortened form ParseMarker returns.
func ValidateOwner(o Owner) error {
	if err := validateBinding(o); err != nil {
		return err
	}
	if err := ValidateClusterID(o.Cluster); err != nil {
		return fmt.Errorf("no usable cluster identity: %w", err)
	}
	return nil
}

func validateBinding(o Owner) error {
	switch {
	case !isLabel(o.Namespace):
		return fmt.Errorf("invalid namespace %q", o.Namespace)
	case !isSubdomain(o.Name) && !isShortened(o.Name):
		return fmt.Errorf("invalid name %q", o.Name)
	case !isUID(o.UID):
		return fmt.Errorf("invalid uid %q", o.UID)
	}
	return nil
}

// Marker returns the member name that marks o's members. It returns "" for
// an owner that ValidateOwner rejects, which matches no member.
func Marker(o Owner) string {
	if ValidateOwner(o) != nil {
		return ""
	}
	return markerPrefix + o.Cluster + ":" + o.Namespace + "/" + markerName(o.Name) + ":" + o.UID
}

// LegacyMarker is the marker o's members had before markers named the
// cluster ("" for an invalid owner). Sync owns members named so and
// re-marks them with Marker.
func LegacyMarker(o Owner) string {
	if ValidateOwner(o) != nil {
		return ""
	}
	return markerPrefix + o.Namespace + "/" + markerName(o.Name) + ":" + o.UID
}

// Marks reports whether name marks o's members: o's marker, its legacy
// marker, or its marker under another cluster identity (same namespace,
// name and uid). A binding's uid is a UUID the API server assigned, unique
// across clusters, so a marker naming it was written for this binding by
// this cluster under the identity it had then (a --cluster-id given or
// dropped, or the default identity derived from other inputs, such as
// before ccictl read CCI 2.0's). Such members stay this binding's and are
// re-marked with Marker, never removed and re-added.
func Marks(o Owner, name string) bool {
	m := Marker(o)
	if m == "" {
		return false
	}
	if name == m || name == LegacyMarker(o) {
		return true
	}
	p, ok := ParseMarker(name)
	return ok && p.Namespace == o.Namespace && p.Name == markerName(o.Name) && p.UID == o.UID
}

// ParseMarker reads a marker written by Marker, or the legacy form (then
// Owner.Cluster is ""). Anything else, including names that merely look
// similar, returns false. For a shortened name the returned Owner.Name is
// the shortened form, so Marker(owner) == name (LegacyMarker for the legacy
// form, with any cluster) holds for every accepted name.
func ParseMarker(name string) (Owner, bool) {
	rest, ok := strings.CutPrefix(name, markerPrefix)
	if !ok {
		return Owner{}, false
	}
	cluster := ""
	if first, after, ok := strings.Cut(rest, ":"); ok && !strings.Contains(first, "/") {
		if ValidateClusterID(first) != nil {
			return Owner{}, false
		}
		cluster, rest = first, after
	}
	ns, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Owner{}, false
	}
	n, uid, ok := strings.Cut(rest, ":")
	if !ok {
		return Owner{}, false
	}
	o := Owner{Namespace: ns, Name: n, UID: uid, Cluster: cluster}
	// Only canonical markers are ours: a long unshortened name is not
	// something Marker writes.
	if validateBinding(o) != nil || markerName(n) != n {
		return Owner{}, false
	}
	return o, true
}

// markerName is name itself when short enough, else its shortened form.
func markerName(name string) string {
	if len(name) <= maxMarkerName || isShortened(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	keep := maxMarkerName - 1 - hashLen
	return name[:keep] + "~" + hex.EncodeToString(sum[:])[:hashLen]
}

func isShortened(s string) bool {
	keep := maxMarkerName - 1 - hashLen
	if len(s) != maxMarkerName || s[keep] != '~' {
		return false
	}
	return isSubdomainChars(s[:keep]) && isLowerHex(s[keep+1:])
}

func isLabel(s string) bool {
	if len(s) == 0 || len(s) > maxNamespace {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return alnum(s[0]) && alnum(s[len(s)-1])
}

func isSubdomain(s string) bool {
	return len(s) > 0 && len(s) <= maxObjectName && isSubdomainChars(s) && alnum(s[0]) && alnum(s[len(s)-1])
}

func isSubdomainChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isUID(s string) bool {
	if len(s) == 0 || len(s) > maxUID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
