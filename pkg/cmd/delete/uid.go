package delete

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func metaUID(obj runtime.Object) (types.UID, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return "", err
	}
	return a.GetUID(), nil
}
