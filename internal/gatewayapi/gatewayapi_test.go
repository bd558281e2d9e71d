package gatewayapi

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

func TestServes(t *testing.T) {
	dc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	if ok, err := Serves(dc, "httproutes"); ok || err != nil {
		t.Fatalf("without the group: %v, %v", ok, err)
	}
	dc.Resources = []*metav1.APIResourceList{{GroupVersion: "gateway.networking.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "httproutes"}, {Name: "gateways"}}}}
	if ok, err := Serves(dc, "httproutes"); !ok || err != nil {
		t.Fatalf("httproutes served: %v, %v", ok, err)
	}
	if ok, err := Serves(dc, "httproutes", "referencegrants"); ok || err != nil {
		t.Fatalf("referencegrants not served: %v, %v", ok, err)
	}
}
