package poolsync

import (
	"strings"
	"testing"
)

const uid1 = "6f0c2a8e-2b7d-4c4e-9f61-0a1b2c3d4e5f"

func TestMarkerFormat(t *testing.T) {
	o := Owner{Namespace: "test-ns", Name: "test-c1", UID: uid1, Cluster: testCluster}
	if got, want := Marker(o), "ccictl:"+testCluster+":test-ns/test-c1:"+uid1; got != want {
		t.Fatalf("Marker = %q, want %q", got, want)
	}
	got, ok := ParseMarker(Marker(o))
	if !ok || got != o {
		t.Fatalf("ParseMarker(Marker(o)) = %+v, %v", got, ok)
	}
	// The legacy form (no cluster) parses with Cluster "".
	if got, want := LegacyMarker(o), "ccictl:test-ns/test-c1:"+uid1; got != want {
		t.Fatalf("LegacyMarker = %q, want %q", got, want)
	}
	got, ok = ParseMarker(LegacyMarker(o))
	if want := (Owner{Namespace: "test-ns", Name: "test-c1", UID: uid1}); !ok || got != want {
		t.Fatalf("ParseMarker(legacy) = %+v, %v", got, ok)
	}
	// No cluster identity: no marker at all.
	o.Cluster = ""
	if m := Marker(o); m != "" {
		t.Fatalf("Marker without a cluster = %q", m)
	}
}

func TestMarkerLongName(t *testing.T) {
	long := strings.Repeat("a", 200) + ".b"
	o := Owner{Namespace: strings.Repeat("n", 63), Name: long, UID: strings.Repeat("u", 64), Cluster: strings.Repeat("c", MaxClusterID)}
	m := Marker(o)
	if m == "" || len(m) != MaxMarkerLen || MaxMarkerLen > 248 {
		t.Fatalf("marker %q (len %d) not within %d ≤ 248", m, len(m), MaxMarkerLen)
	}
	p, ok := ParseMarker(m)
	if !ok || p.Namespace != o.Namespace || p.UID != o.UID || p.Cluster != o.Cluster || !strings.HasPrefix(long, strings.Split(p.Name, "~")[0]) {
		t.Fatalf("ParseMarker(%q) = %+v, %v", m, p, ok)
	}
	if Marker(p) != m {
		t.Fatalf("Marker(parsed) = %q, want %q", Marker(p), m)
	}
	// Two long names sharing the kept prefix still get distinct markers.
	o2 := o
	o2.Name = strings.Repeat("a", 200) + ".c"
	if Marker(o2) == m {
		t.Fatal("long names with the same prefix collide")
	}
	// A cluster id that would make markers longer is refused, clearly.
	o.Cluster = strings.Repeat("c", MaxClusterID+1)
	if err := ValidateOwner(o); err == nil || !strings.Contains(err.Error(), "1-48 characters") || Marker(o) != "" {
		t.Fatalf("cluster id of %d characters: %v", len(o.Cluster), err)
	}
}

func TestValidateClusterID(t *testing.T) {
	for _, ok := range []string{"c", testCluster, "6e2c21d1-43c9-485f-8ba4-859393079f9c", "prod.eu_1"} {
		if err := ValidateClusterID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a:b", "a/b", "a b", strings.Repeat("x", 49), "é"} {
		if err := ValidateClusterID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseMarkerRejectsLookalikes(t *testing.T) {
	for _, name := range []string{
		"",
		"ccictl:",
		"ccictl:ns/name",               // no uid
		"ccictl:ns/name:",              // empty uid
		"ccictl:/name:" + uid1,         // empty namespace
		"ccictl:ns/:" + uid1,           // empty name
		"CCICTL:ns/name:" + uid1,       // prefix case
		"ccictl:NS/name:" + uid1,       // uppercase namespace
		"ccictl:ns/Name:" + uid1,       // uppercase name
		"ccictl:ns/name:" + uid1 + " ", // trailing space
		" ccictl:ns/name:" + uid1,
		"ccictl:ns/na/me:" + uid1,
		"ccictl:ns/name:uid:extra",
		"ccictl:ns.x/name:" + uid1,                    // dot in namespace (label)
		"ccictl:-ns/name:" + uid1,                     // label must start alphanumeric
		"ccictl:ns/name-:" + uid1,                     // name must end alphanumeric
		"ccictl:ns/" + strings.Repeat("a", 64) + ":u", // long name not shortened
		"ccictl:ns/" + strings.Repeat("a", 54) + "~ABCDEF12:u", // hash not lowercase hex
		"ccictl:ns/name:" + strings.Repeat("u", 65),
		"ccictl:ns/name:u_id",
		"k8s/80/svc/ns/cluster", // another tool's marker
		"my-server-1",
	} {
		if o, ok := ParseMarker(name); ok {
			t.Errorf("ParseMarker(%q) accepted: %+v", name, o)
		}
	}
}

func TestMarkerInvalidOwner(t *testing.T) {
	for _, o := range []Owner{
		{Namespace: "ns", Name: "n", Cluster: testCluster},
		{Namespace: "", Name: "n", UID: uid1, Cluster: testCluster},
		{Namespace: "ns", Name: "", UID: uid1, Cluster: testCluster},
		{Namespace: "ns", Name: "a:b", UID: uid1, Cluster: testCluster},
		{Namespace: "ns", Name: "a/b", UID: uid1, Cluster: testCluster},
		{Namespace: "ns", Name: "n", UID: uid1},
		{Namespace: "ns", Name: "n", UID: uid1, Cluster: "a:b"},
	} {
		if m := Marker(o); m != "" {
			t.Errorf("Marker(%+v) = %q, want empty", o, m)
		}
		if m := LegacyMarker(o); m != "" {
			t.Errorf("LegacyMarker(%+v) = %q, want empty", o, m)
		}
	}
}

// FuzzMarker checks that only canonical markers parse: whatever ParseMarker
// accepts, Marker (LegacyMarker for the legacy form) writes back byte for
// byte.
func FuzzMarker(f *testing.F) {
	f.Add("ccictl:" + testCluster + ":ns/name:" + uid1)
	f.Add("ccictl:ns/name:" + uid1)
	f.Add("ccictl:c:ns/" + strings.Repeat("a", 54) + "~0123abcd:" + uid1)
	f.Add("ccictl:ns/name")
	f.Add("ccictl:a:b:ns/name:u")
	f.Add("random")
	f.Fuzz(func(t *testing.T, s string) {
		o, ok := ParseMarker(s)
		if !ok {
			return
		}
		m := Marker(o)
		if o.Cluster == "" {
			with := o
			with.Cluster = testCluster
			m = LegacyMarker(with)
		}
		if m != s {
			t.Fatalf("ParseMarker(%q) = %+v but Marker gives %q", s, o, m)
		}
	})
}

// FuzzMarkerRoundTrip: every valid owner yields a marker within
// MaxMarkerLen that parses back to it (to its shortened name for long
// names).
func FuzzMarkerRoundTrip(f *testing.F) {
	f.Add("ns", "name", uid1, testCluster)
	f.Add("ns", strings.Repeat("x", 100), "u", "c")
	f.Add("a", "b.c", "A-1", "")
	f.Fuzz(func(t *testing.T, ns, name, uid, cluster string) {
		o := Owner{Namespace: ns, Name: name, UID: uid, Cluster: cluster}
		m := Marker(o)
		if ValidateOwner(o) != nil {
			if m != "" {
				t.Fatalf("invalid owner %+v got marker %q", o, m)
			}
			return
		}
		if len(m) > MaxMarkerLen {
			t.Fatalf("marker %q longer than %d", m, MaxMarkerLen)
		}
		p, ok := ParseMarker(m)
		if !ok || p.Namespace != ns || p.UID != uid || p.Cluster != cluster || Marker(p) != m {
			t.Fatalf("round trip of %+v via %q gave %+v, %v", o, m, p, ok)
		}
		if len(name) <= maxMarkerName && p.Name != name {
			t.Fatalf("short name %q came back as %q", name, p.Name)
		}
		l, ok := ParseMarker(LegacyMarker(o))
		if !ok || l.Cluster != "" || l.UID != uid {
			t.Fatalf("legacy marker of %+v parsed as %+v, %v", o, l, ok)
		}
	})
}
