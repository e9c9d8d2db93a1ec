package validate

// Sources of the rules, as a user can look them up: the vendor page's title
// and its public address, or the ccictl document that explains the rule.
const (
	docManifest             = "ccictl manifest format: YAML/JSON objects with apiVersion and kind (docs/validate.md)"
	docCCIPoolBinding       = "Huawei Cloud CCI 2.0, \"Associating a Service with a PoolBinding\", https://support.huaweicloud.com/intl/en-us/usermanual-cci2/cci_01_0126.html"
	docCCEService           = "Huawei Cloud CCE API Reference 2.0, \"Creating a Service\", https://support.huaweicloud.com/en-us/api-cce/cce_02_0025.html"
	docTKEDirect            = "Tencent Cloud TKE, \"Using Services with LoadBalancer Directly Connected to Pods\", https://www.tencentcloud.com/document/product/457/36837"
	docACKEdgeELB           = "Alibaba Cloud ACK Edge, \"Use ELB instances to expose Services in multiple regions\", https://www.alibabacloud.com/help/en/ack/ack-edge/user-guide/use-elb-to-expose-services-in-multiple-regions"
	docBaiduServerless      = "Baidu AI Cloud CCE, \"Using Service in Serverless Cluster\", https://intl.cloud.baidu.com/en/doc/CCE/s/Qkhfxcry7-intl-en"
	docCCIccictl            = "Huawei Cloud CCI 2.0, \"ccictl\" (resources use group/version cci/v2), https://support.huaweicloud.com/intl/en-us/devg-cci2/ccictl.html"
	docCCIPoolBindingLimits = "Huawei Cloud CCI 2.0, PoolBinding constraints, https://support.huaweicloud.com/intl/en-us/usermanual-cci2/cci_01_0124.html"
	docCCEAnnotations       = "Huawei Cloud CCE, LoadBalancer Service annotations, https://support.huaweicloud.com/intl/en-us/usermanual-cce/cce_10_0385.html"
	docELBWeight            = "Huawei Cloud ELB API, \"Batch Updating Backend Servers\" (weight 0-100, default 1), https://support.huaweicloud.com/api-elb/BatchUpdateMembers.html"
	docSyncZones            = "docs/sync.md: Zones (zone-scoped bindings)"
	docSyncRegions          = "docs/sync.md: Regions"
	docWatchGates           = "docs/watch-gates.md: Readiness gates (ccictl sync --watch)"
	docKubernetes           = "Kubernetes API validation (k8s.io/apimachinery validation rules)"
)
