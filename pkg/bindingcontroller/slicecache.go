package bindingcontroller

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// cachedSlice is an EndpointSlice as the cache holds it (see
// transformEndpointSlice). Its metadata is the slice's name, namespace,
// uid, resourceVersion and generation; the informer keys it like the API
// object.
type cachedSlice struct {
	metav1.ObjectMeta
	// service is the kubernetes.io/service-name label; hasService says the
	// label was there (possibly empty).
	service     string
	hasService  bool
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   []cachedEndpoint
}

type cachedEndpoint struct {
	address                     string
	hasAddress                  bool
	ready, serving, terminating conditionValue
	nodeName, zone              *string // shared (stringTable)
}

// slice returns c in the API's form, with what the cache kept.
func (c *cachedSlice) slice() *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace, UID: c.UID,
			ResourceVersion: c.ResourceVersion, Generation: c.Generation},
		AddressType: c.addressType,
		Ports:       c.ports,
	}
	if c.hasService {
		s.Labels = map[string]string{discoveryv1.LabelServiceName: c.service}
	}
	if c.endpoints != nil {
		s.Endpoints = make([]discoveryv1.Endpoint, len(c.endpoints))
		addrs := make([]string, len(c.endpoints)) // one array for every endpoint's address
		for i := range c.endpoints {
			ce := &c.endpoints[i]
			ep := &s.Endpoints[i]
			if ce.hasAddress {
				addrs[i] = ce.address
				ep.Addresses = addrs[i : i+1 : i+1]
			}
			ep.Conditions = discoveryv1.EndpointConditions{Ready: ce.ready.pointer(), Serving: ce.serving.pointer(), Terminating: ce.terminating.pointer()}
			ep.NodeName, ep.Zone = ce.nodeName, ce.zone
		}
	}
	return s
}

// SliceCache reads the EndpointSlice cache by Service.
type SliceCache struct {
	indexer cache.Indexer
}

// ServiceSlices returns the cached slices of the Service namespace/service,
// in the API's form (new objects each call; shared values: read-only).
func (l *SliceCache) ServiceSlices(namespace, service string) ([]*discoveryv1.EndpointSlice, error) {
	objs, err := l.indexer.ByIndex(sliceServiceIndex, namespace+"/"+service)
	if err != nil {
		return nil, err
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if c, ok := o.(*cachedSlice); ok {
			out = append(out, c.slice())
		}
	}
	return out, nil
}
