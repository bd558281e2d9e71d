// Package gatewayapi tells whether the cluster serves Gateway API's
// resources. Their informers start only where it does: an informer of a
// kind that is not served never syncs.
package gatewayapi

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Serves reports whether the API server serves every one of resources
// ("httproutes", "referencegrants") of gateway.networking.k8s.io/v1. A group
// the server does not know is no error: it serves none of them.
func Serves(dc discovery.DiscoveryInterface, resources ...string) (bool, error) {
	list, err := dc.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	for _, name := range resources {
		if !served[name] {
			return false, nil
		}
	}
	return true, nil
}
