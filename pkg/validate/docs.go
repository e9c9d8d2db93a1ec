package validate

// Sources of the rules. Seeds are the platform pages under shared/seeds;
// "reference" is shared/reference/huawei-apis.md.
const (
	docManifest    = "ccictl manifest format: YAML/JSON objects with apiVersion and kind (docs/validate.md)"
	docSeed000     = "seed 000: CCI 2.0, Associating a Service with a PoolBinding"
	docSeed001     = "seed 001: CCE API Reference 2.0, Kubernetes API > Service > Creating a Service"
	docSeed002     = "seed 002: Using Services with LoadBalancer Directly Connected to Pods"
	docSeed003     = "seed 003: Use ELB instances to expose Services in multiple regions (edge node pools)"
	docSeed004     = "seed 004: Using Service in Serverless Cluster"
	docRefCCI      = "reference 1.1: ccictl (devg-cci2/ccictl.html): CCI 2.0 resources use group/version cci/v2"
	docRefPoolBind = "reference 1.7: PoolBinding constraints (usermanual-cci2/cci_01_0124, cci_01_0126)"
	docRefCCE      = "reference 5: CCE LoadBalancer annotations (usermanual-cce/cce_10_0385)"
	docRefWeight   = "reference 2.2: ELB v3 member weight is 0-100, default 1 (api-elb/BatchUpdateMembers)"
	docSyncZones   = "docs/sync.md: Zones (zone-scoped bindings)"
	docSyncRegions = "docs/sync.md: Regions"
	docWatchGates  = "docs/watch-gates.md: Readiness gates (ccictl sync --watch)"
	docKubernetes  = "Kubernetes API validation (k8s.io/apimachinery validation rules)"
)
