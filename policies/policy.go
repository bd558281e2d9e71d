// Package policies holds the contract every devgate policy implements. A policy is
// pure Go: it gets the object, the old object, the requester, the configuration
// and small lookup interfaces, and answers with a mutated object or with denials
// and warnings. The webhook, the controller and the CLI all call the policies
// through package engine, so what `devgate check` says is what the cluster does.
package policies

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/hosts"
)

// Operation is an admission operation: CREATE, UPDATE or DELETE.
type Operation = admissionregistrationv1.OperationType

// The operations devgate handles.
const (
	Create Operation = admissionregistrationv1.Create
	Update Operation = admissionregistrationv1.Update
	Delete Operation = admissionregistrationv1.Delete
)

// Request is one object under admission.
type Request struct {
	Operation Operation
	// Object is the object being admitted (nil on DELETE). Mutators change it in
	// place; the engine owns it and computes the patch afterwards.
	Object runtime.Object
	// OldObject is the stored object on UPDATE and DELETE, nil on CREATE.
	OldObject runtime.Object
	// User is the requester as the API server authenticated it.
	User   authenticationv1.UserInfo
	Config *config.Config
	Lookup Lookup
}

// Lookup answers the questions a policy cannot answer from the object alone.
// The webhook backs it with informer caches, the CLI with the manifests it reads.
type Lookup interface {
	// ServiceAccountsWithToken lists "namespace/name" of every ServiceAccount
	// whose dev.okteto.com/token label has the given value.
	ServiceAccountsWithToken(token string) []string
	// NamespaceExists reports whether a namespace of that name exists. Host
	// ownership (SPEC 3) goes to the existing managed namespace with the
	// longest name a host fits.
	NamespaceExists(name string) bool
	// HostsFitting lists every host in use by an Ingress (its rules, TLS
	// hosts and server aliases) whose first label is namespace or ends with
	// "-" + namespace: the hosts a namespace of that name would fit.
	HostsFitting(namespace string) []HostUse
}

// HostUse is one host served by one object.
type HostUse struct {
	Host string
	// Kind, Namespace and Name identify the object that serves Host.
	Kind, Namespace, Name string
}

// String is "Ingress a/web serves web-team-a.okteto.example.com".
func (u HostUse) String() string {
	return u.Kind + " " + u.Namespace + "/" + u.Name + " serves " + u.Host
}

// NoLookup is a Lookup that knows no other object.
type NoLookup struct{}

// ServiceAccountsWithToken implements Lookup.
func (NoLookup) ServiceAccountsWithToken(string) []string { return nil }

// NamespaceExists implements Lookup: no other namespace exists.
func (NoLookup) NamespaceExists(string) bool { return false }

// HostsFitting implements Lookup: no host is in use.
func (NoLookup) HostsFitting(string) []HostUse { return nil }

// Result is a policy's answer. An empty Denials list admits the object.
type Result struct {
	Denials  field.ErrorList
	Warnings []string
}

// Merge appends other's denials and warnings to r.
func (r *Result) Merge(other Result) {
	r.Denials = append(r.Denials, other.Denials...)
	r.Warnings = append(r.Warnings, other.Warnings...)
}

// Policy is a named set of rules on some kinds and operations.
type Policy interface {
	// Name is a short, stable identifier, e.g. "service-endpoint".
	Name() string
	// Handles declares the resources and operations the policy acts on. The
	// webhook configurations in the chart and in config/ are tested against it.
	Handles() []Rule
}

// Mutator is a policy that changes objects (the /mutate webhook).
type Mutator interface {
	Policy
	// Mutate changes req.Object in place. It never denies: an object it cannot
	// make sense of is left for Validate to deny. Mutate must be idempotent.
	Mutate(req *Request) Result
}

// Validator is a policy that admits or denies objects (the /validate webhook).
type Validator interface {
	Policy
	Validate(req *Request) Result
}

// Generator is a policy that derives other objects from an admitted one, as the
// controller does; the CLI shows them.
type Generator interface {
	Policy
	Generate(obj runtime.Object, cfg *config.Config) ([]client.Object, error)
}

// Rule is one resource and the operations on it that a policy handles.
type Rule struct {
	GroupVersionKind schema.GroupVersionKind
	Resource         string
	Operations       []Operation
	Mutating         bool
	Validating       bool
	// ClusterScoped marks a resource without namespace, such as namespaces:
	// the webhook rule's scope is then Cluster.
	ClusterScoped bool
	// MatchCondition is an optional CEL expression (the language of the
	// webhooks' matchConditions) over `object`, `oldObject` and `request`
	// that is false only when the policy would certainly neither mutate, deny
	// nor warn: the API server then does not call devgate for the request.
	// Empty means always. It must never fail to evaluate, since an error
	// with failurePolicy Fail rejects the request: `object` is null on
	// DELETE and `oldObject` on CREATE, and labels, annotations, data and
	// type may be absent (guard with `!= null` and `has()`). Secret data
	// values are base64 strings; an empty value is "" and may be null.
	// webhook.Configurations ORs the conditions of every rule on a resource
	// into one matchCondition of each webhook, with each line trimmed and
	// the later ones indented by two spaces. The chart's and config/'s
	// webhook configurations are generated from it by `make generate`, and
	// a test fails when they are stale.
	MatchCondition string
}

// GroupVersionResource of the rule.
func (r Rule) GroupVersionResource() schema.GroupVersionResource {
	return r.GroupVersionKind.GroupVersion().WithResource(r.Resource)
}

// Handles reports whether the rule covers op.
func (r Rule) Handles(op Operation) bool {
	for _, o := range r.Operations {
		if o == op {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the requester is a token admin per tokens.adminGroups.
func (req *Request) IsAdmin() bool { return req.Config.IsAdmin(req.User.Groups) }

// Owners is the hosts.Namespaces of the request: the namespaces its Lookup
// knows to exist that its configuration manages. Host ownership (SPEC 3) is
// decided among them.
func (req *Request) Owners() hosts.Namespaces { return Owners(req.Lookup, req.Config) }

// Owners is the hosts.Namespaces of lookup under cfg: the namespaces lookup
// knows to exist that cfg manages.
func Owners(lookup Lookup, cfg *config.Config) hosts.Namespaces {
	return managedNamespaces{lookup: lookup, cfg: cfg}
}

type managedNamespaces struct {
	lookup Lookup
	cfg    *config.Config
}

func (m managedNamespaces) ManagedNamespace(name string) bool {
	return m.lookup != nil && m.cfg.Managed(name) && m.lookup.NamespaceExists(name)
}
