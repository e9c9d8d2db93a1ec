package cci2

// Discovery documents of the cci group in their legacy (non-aggregated)
// form: the aggregator falls back to GET /apis/cci/v2 when a backend's
// /apis is not aggregated discovery, and publishes the result in its own
// aggregated discovery.

func apiGroup() map[string]any {
	gv := map[string]any{"groupVersion": GroupVersion, "version": Version}
	return map[string]any{"kind": "APIGroup", "apiVersion": "v1", "name": Group,
		"versions": []any{gv}, "preferredVersion": gv}
}

func apiGroupList() map[string]any {
	g := apiGroup()
	delete(g, "kind")
	delete(g, "apiVersion")
	return map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{g}}
}

func apiResourceList() map[string]any {
	var list []any
	for i := range resources {
		r := &resources[i]
		verbs := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
		if r.readOnly {
			verbs = []string{"get", "list", "watch"}
		}
		e := map[string]any{"name": r.name, "singularName": r.singular, "namespaced": r.namespaced,
			"kind": r.kind, "verbs": verbs}
		if len(r.shortNames) > 0 {
			e["shortNames"] = r.shortNames
		}
		if r.name == "pods" || r.name == "deployments" || r.name == "services" {
			e["categories"] = []string{"all"}
		}
		list = append(list, e)
		for _, s := range r.subresources {
			se := map[string]any{"name": r.name + "/" + s, "singularName": "", "namespaced": r.namespaced,
				"kind": r.kind, "verbs": []string{"get", "patch", "update"}}
			switch s {
			case "finalize":
				se["verbs"] = []string{"update"}
			case "scale":
				se["group"], se["version"], se["kind"] = "autoscaling", "v1", "Scale"
			}
			list = append(list, se)
		}
	}
	return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GroupVersion, "resources": list}
}
