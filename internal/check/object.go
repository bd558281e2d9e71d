package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
)

// TokenLabel is the ServiceAccount label whose value must be unique (SPEC 5.3).
const TokenLabel = "dev.okteto.com/token"

// object is one manifest as read: its JSON and the few fields the checker needs
// without decoding the whole object (the engine decodes it once, typed).
type object struct {
	pos position
	// raw is the JSON as read. A Secret's stringData is left as written: the
	// token policies read it as the API server will merge it into data, and
	// their messages then name the field the author wrote.
	raw  []byte
	gvk  schema.GroupVersionKind
	name string
	// generateName is shown when name is empty.
	generateName string
	// namespace is metadata.namespace, or the default namespace when the
	// object is namespaced and names none; empty for cluster-scoped kinds.
	namespace string
	// namespaceDefaulted is set when namespace came from --namespace: the
	// rendered object gets it written in.
	namespaceDefaulted bool
	// token is the dev.okteto.com/token label of a ServiceAccount.
	token    string
	hasToken bool
}

// key identifies an object across -f and --old: same apiVersion, kind,
// namespace and name. Objects with only generateName have no key.
func (o *object) key() string {
	if o.name == "" {
		return ""
	}
	return o.gvk.GroupVersion().String() + "|" + o.gvk.Kind + "|" + o.namespace + "|" + o.name
}

// ref is kind/namespace/name, or kind/name for a cluster-scoped object.
func (o *object) ref() string {
	name := o.name
	if name == "" {
		name = o.generateName + "*"
	}
	return formatRef(o.gvk.Kind, o.namespace, name)
}

func formatRef(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// header is what is decoded of every document before the engine sees it.
type header struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   *metadata       `json:"metadata"`
	Items      json.RawMessage `json:"items"`
}

type metadata struct {
	Name         string `json:"name"`
	GenerateName string `json:"generateName"`
	Namespace    string `json:"namespace"`
}

var (
	serviceAccountGVK = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
)

// decodeDocument turns one document's JSON into objects: none for an empty
// document, the items of a List, or the object itself.
func decodeDocument(pos position, raw []byte, namespace string) ([]*object, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if trimmed[0] != '{' {
		return nil, pos.errorf("not a Kubernetes object: expected a mapping with apiVersion and kind, got %s", jsonType(trimmed[0]))
	}
	var h header
	// Case-sensitive, as the API server decodes: "Kind" is not "kind".
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(trimmed, &h); err != nil {
		return nil, pos.errorf("%v", err)
	}
	switch {
	case h.APIVersion == "" && h.Kind == "":
		return nil, pos.errorf("not a Kubernetes object: apiVersion and kind are not set")
	case h.APIVersion == "":
		return nil, pos.errorf("%s has no apiVersion", h.Kind)
	case h.Kind == "":
		return nil, pos.errorf("object of apiVersion %s has no kind", h.APIVersion)
	}
	gv, err := schema.ParseGroupVersion(h.APIVersion)
	if err != nil {
		return nil, pos.errorf("apiVersion: %v", err)
	}
	gvk := gv.WithKind(h.Kind)
	if isList(h) {
		return decodeList(pos, gvk, h.Items, namespace)
	}
	o := &object{pos: pos, raw: trimmed, gvk: gvk}
	if h.Metadata != nil {
		o.name, o.generateName, o.namespace = h.Metadata.Name, h.Metadata.GenerateName, h.Metadata.Namespace
	}
	if o.namespace == "" && namespaced(gvk.GroupKind()) {
		o.namespace, o.namespaceDefaulted = namespace, true
	}
	if gvk == serviceAccountGVK {
		if o.token, o.hasToken, err = tokenLabel(trimmed); err != nil {
			return nil, pos.errorf("metadata.labels: %v", err)
		}
	}
	return []*object{o}, nil
}

// isList recognises `kind: List` and the typed lists of the API (ServiceList,
// IngressList, ...): a kind ending in List that has items.
func isList(h header) bool {
	return h.Kind == "List" || (strings.HasSuffix(h.Kind, "List") && h.Items != nil)
}

// decodeList expands a list's items. Items of a typed list may omit apiVersion
// and kind, as the API server returns them: they take the list's.
func decodeList(pos position, list schema.GroupVersionKind, rawItems json.RawMessage, namespace string) ([]*object, error) {
	var items []json.RawMessage
	if len(rawItems) > 0 {
		if err := json.Unmarshal(rawItems, &items); err != nil {
			return nil, pos.errorf("items: expected a list of objects: %v", err)
		}
	}
	var objs []*object
	for i, item := range items {
		ipos := pos
		ipos.item = fmt.Sprintf("items[%d]", i)
		if pos.item != "" {
			ipos.item = pos.item + "." + ipos.item
		}
		if list.Kind != "List" {
			var err error
			if item, err = inheritTypeMeta(item, list); err != nil {
				return nil, ipos.errorf("%v", err)
			}
		}
		got, err := decodeDocument(ipos, item, namespace)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// inheritTypeMeta sets apiVersion and kind of a typed list's item that has none.
func inheritTypeMeta(item json.RawMessage, list schema.GroupVersionKind) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(item, &m); err != nil || m == nil {
		return item, nil // decodeDocument reports what the item is
	}
	changed := false
	if _, ok := m["apiVersion"]; !ok {
		m["apiVersion"], _ = json.Marshal(list.GroupVersion().String())
		changed = true
	}
	if _, ok := m["kind"]; !ok {
		m["kind"], _ = json.Marshal(strings.TrimSuffix(list.Kind, "List"))
		changed = true
	}
	if !changed {
		return item, nil
	}
	return json.Marshal(m)
}

// tokenLabel reads a ServiceAccount's dev.okteto.com/token label.
func tokenLabel(raw []byte) (string, bool, error) {
	var sa struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &sa); err != nil {
		return "", false, err
	}
	v, ok := sa.Metadata.Labels[TokenLabel]
	return v, ok, nil
}

func jsonType(first byte) string {
	switch first {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// clusterScoped are the built-in kinds that live outside namespaces: they are
// not given --namespace. Any other kind is taken to be namespaced, as most
// custom resources are.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:        true,
	{Kind: "Node"}:             true,
	{Kind: "PersistentVolume"}: true,
	{Kind: "ComponentStatus"}:  true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "cert-manager.io", Kind: "ClusterIssuer"}:                                 true,
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"}:                        true,
}

func namespaced(gk schema.GroupKind) bool { return !clusterScoped[gk] }
