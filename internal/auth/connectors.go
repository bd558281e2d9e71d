package auth

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
)

// Optional keys of an OIDC connector Secret, with their defaults.
const (
	keyConnectorName       = "name"
	keyUsernameClaim       = "username_claim"
	keyUsernamePrefix      = "username_prefix"
	keyGroupsClaim         = "groups_claim"
	keyGroupsPrefix        = "groups_prefix"
	keyScopes              = "scopes"
	keyIgnoreEmailVerified = "ignore_email_verified"

	defaultUsernameClaim = "email"
	defaultGroupsClaim   = "groups"
	defaultScopes        = "openid email profile"
)

// ConnectorSet is the set of OIDC connectors in force.
type ConnectorSet interface {
	// Has reports whether a valid connector of that name is in force.
	Has(name string) bool
}

// connector is one valid OIDC connector Secret, read once per version.
type connector struct {
	// ID is the Secret's name: the path segment of /oidc/<ID>/start and what
	// sessions name.
	ID string
	// Name is the sign-in button's text.
	Name                        string
	Issuer, ClientID, Secret    string
	RedirectURI                 string
	UsernameClaim, UsernamePref string
	GroupsClaim, GroupsPrefix   string
	Scopes                      []string
	IgnoreEmailVerified         bool
	// version is the Secret's resourceVersion: a changed Secret is a new
	// connector, discovered again.
	version string
}

// parseConnector checks s with the very policy the webhook and `devgate
// check` run (SPEC 5.5), then the optional keys, and returns the connector.
// The error names the keys at fault, never a value of the Secret.
func parseConnector(s *corev1.Secret) (*connector, error) {
	res := tokens.NewOIDCConnectorPolicy().Validate(&policies.Request{Operation: policies.Create, Object: s})
	if len(res.Denials) > 0 {
		var why []string
		for _, d := range res.Denials {
			why = append(why, d.Error())
		}
		return nil, fmt.Errorf("%s", strings.Join(why, "; "))
	}
	if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
		return nil, fmt.Errorf("metadata.name: must be a DNS-1123 label, it is the connector's path segment")
	}
	get := func(k, def string) string {
		if v := strings.TrimSpace(string(s.Data[k])); v != "" {
			return v
		}
		return def
	}
	c := &connector{
		ID: s.Name, Name: get(keyConnectorName, s.Name),
		Issuer: string(s.Data[tokens.KeyIssuer]), ClientID: string(s.Data[tokens.KeyClientID]),
		Secret: string(s.Data[tokens.KeyClientSecret]), RedirectURI: string(s.Data[tokens.KeyRedirectURI]),
		UsernameClaim: get(keyUsernameClaim, defaultUsernameClaim), UsernamePref: string(s.Data[keyUsernamePrefix]),
		GroupsClaim: get(keyGroupsClaim, defaultGroupsClaim), GroupsPrefix: string(s.Data[keyGroupsPrefix]),
		Scopes:  strings.Fields(get(keyScopes, defaultScopes)),
		version: s.ResourceVersion,
	}
	if v := get(keyIgnoreEmailVerified, "false"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("data[%s]: must be true or false", keyIgnoreEmailVerified)
		}
		c.IgnoreEmailVerified = b
	}
	// The ID token is what is verified: without openid there is none.
	if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	if !headerSafe(c.Name) || !headerSafe(c.UsernamePref) || !headerSafe(c.GroupsPrefix) {
		return nil, fmt.Errorf("data: name and prefixes must not hold control characters")
	}
	// A prefix that is itself a system identity would make every user one.
	if strings.HasPrefix(c.UsernamePref, systemPrefix) || strings.HasPrefix(c.GroupsPrefix, systemPrefix) {
		return nil, fmt.Errorf("data: username_prefix and groups_prefix must not begin with %q", systemPrefix)
	}
	return c, nil
}

// Connectors holds the valid connectors, replaced whole whenever a connector
// Secret changes. Invalid ones are logged once per version and counted in
// devgate_auth_connectors{state="invalid"}.
type Connectors struct {
	log logr.Logger

	mu      sync.RWMutex
	valid   map[string]*connector
	invalid int
	logged  map[string]string // Secret name -> resourceVersion already logged as invalid
	gauge   *prometheus.GaugeVec
}

// NewConnectors returns an empty set that logs to log.
func NewConnectors(log logr.Logger) *Connectors {
	return &Connectors{log: log, valid: map[string]*connector{}, logged: map[string]string{}}
}

// Has implements ConnectorSet.
func (c *Connectors) Has(name string) bool {
	_, ok := c.get(name)
	return ok
}

func (c *Connectors) get(id string) (*connector, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.valid[id]
	return k, ok
}

// list returns the valid connectors by ID.
func (c *Connectors) list() []*connector {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*connector, 0, len(c.valid))
	for _, k := range c.valid {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *connector) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Replace makes the connector Secrets in secrets the ones in force.
func (c *Connectors) Replace(secrets []corev1.Secret) {
	valid := map[string]*connector{}
	invalid := 0
	seen := map[string]bool{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range secrets {
		s := &secrets[i]
		if s.Type != tokens.TypeOIDCConnector {
			continue
		}
		seen[s.Name] = true
		k, err := parseConnector(s)
		if err != nil {
			invalid++
			if c.logged[s.Name] != s.ResourceVersion {
				c.logged[s.Name] = s.ResourceVersion
				c.log.Info("OIDC connector skipped: invalid", "secret", s.Namespace+"/"+s.Name, "reason", err.Error())
			}
			continue
		}
		delete(c.logged, s.Name)
		if old, ok := c.valid[k.ID]; !ok || old.version != k.version {
			c.log.Info("OIDC connector loaded", "secret", s.Namespace+"/"+s.Name, "issuer", k.Issuer)
		}
		valid[k.ID] = k
	}
	for name := range c.logged {
		if !seen[name] {
			delete(c.logged, name)
		}
	}
	c.valid, c.invalid = valid, invalid
	if c.gauge != nil {
		c.gauge.WithLabelValues("valid").Set(float64(len(valid)))
		c.gauge.WithLabelValues("invalid").Set(float64(invalid))
	}
}

// register adds devgate_auth_connectors to reg.
func (c *Connectors) register(reg prometheus.Registerer) {
	c.mu.Lock()
	c.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "devgate_auth_connectors",
		Help: "OIDC connector Secrets in devgate's namespace by state: valid (a sign-in button each) or invalid (skipped, logged).",
	}, []string{"state"})
	c.gauge.WithLabelValues("valid").Set(float64(len(c.valid)))
	c.gauge.WithLabelValues("invalid").Set(float64(c.invalid))
	c.mu.Unlock()
	reg.MustRegister(c.gauge)
}

// newConnectorCache watches the connector Secrets of namespace and replaces
// set's connectors at every change.
func newConnectorCache(cfg *rest.Config, scheme *runtime.Scheme, namespace string, set *Connectors) (cache.Cache, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Field: fields.OneTermEqualSelector("type", string(tokens.TypeOIDCConnector))},
		},
	})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(context.Background(), &corev1.Secret{})
	if err != nil {
		return nil, err
	}
	reload := func() {
		var list corev1.SecretList
		if err := c.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
			set.log.Error(err, "listing OIDC connector Secrets")
			return
		}
		set.Replace(list.Items)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { reload() },
		UpdateFunc: func(any, any) { reload() },
		DeleteFunc: func(any) { reload() },
	})
	return c, err
}
