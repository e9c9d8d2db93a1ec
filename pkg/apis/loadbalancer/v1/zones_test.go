package v1

import (
	"strings"
	"testing"
)

func TestRegionAndZoneNames(t *testing.T) {
	for r, ok := range map[string]bool{"cn-north-4": true, "ap-southeast-1": true, "la-north-2": true, "cn-north-4a": false, "North China": false, "cn-north": false, "": false} {
		if ValidRegionName(r) != ok {
			t.Errorf("ValidRegionName(%q) = %v", r, !ok)
		}
	}
	for z, ok := range map[string]bool{"cn-north-4a": true, "ap-southeast-1c": true, "cn-north-4": false, "north-4a": false, "cn-north-4ab": false} {
		if ValidZoneName(z) != ok {
			t.Errorf("ValidZoneName(%q) = %v", z, !ok)
		}
	}
	if !ZoneInRegion("cn-north-4a", "cn-north-4") || ZoneInRegion("cn-north-41", "cn-north-4") || ZoneInRegion("cn-south-1a", "cn-north-4") || ZoneInRegion("cn-north-4", "cn-north-4") {
		t.Error("ZoneInRegion")
	}
}

func TestZonesInTheBindingsRegion(t *testing.T) {
	b := &PoolBinding{}
	b.Annotations = map[string]string{ZonesAnnotation: "cn-north-4a, cn-north-4b", RegionAnnotation: "cn-north-4"}
	if z, err := b.Zones(); err != nil || len(z) != 2 {
		t.Fatalf("zones of the region: %v %v", z, err)
	}
	b.Annotations[ZonesAnnotation] = "cn-north-4a,cn-south-1a"
	if _, err := b.Zones(); err == nil || !strings.Contains(err.Error(), `zone "cn-south-1a" is not in region cn-north-4`) {
		t.Fatalf("zone of another region: %v", err)
	}
	// Without a region (or with an invalid one, which Region reports) the
	// names are taken as written.
	delete(b.Annotations, RegionAnnotation)
	if _, err := b.Zones(); err != nil {
		t.Fatal(err)
	}
	b.Annotations[RegionAnnotation] = "North"
	if _, err := b.Region(); err == nil {
		t.Fatal("invalid region accepted")
	}
}
