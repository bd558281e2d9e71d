// Package config holds devgate's configuration file: its schema, its defaults
// and its validation. The webhook, the controller, the auth service and the CLI
// all read the same file through Load, so they agree on every value.
package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// APIVersion and Kind identify a devgate configuration file.
const (
	APIVersion = "devgate.dev/v1alpha1"
	Kind       = "Config"
)

// TLS modes of generated and tenant Ingresses (SPEC 3).
const (
	TLSModeDefaultCertificate = "default-certificate"
	TLSModeCertManager        = "cert-manager"
	TLSModeNone               = "none"
)

// Config is the whole devgate configuration (SPEC 1).
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Metadata is optional and ignored by devgate; it lets the file be applied
	// as an object where a cluster serves the Config kind (devgate dev does).
	Metadata         *ConfigMetadata `json:"metadata,omitempty"`
	Domain           string          `json:"domain"`
	IngressClassName string          `json:"ingressClassName,omitempty"`
	// ClusterDomain is the cluster's DNS domain (the kubelet's
	// --cluster-domain): an ExternalName Service may not name a host inside
	// it (SPEC 2).
	ClusterDomain               string           `json:"clusterDomain,omitempty"`
	TLS                         TLS              `json:"tls"`
	ConvertLoadBalancedServices *bool            `json:"convertLoadBalancedServices,omitempty"`
	DenySnippets                *bool            `json:"denySnippets,omitempty"`
	PrivateEndpoints            PrivateEndpoints `json:"privateEndpoints"`
	Tokens                      Tokens           `json:"tokens"`
	ExcludedNamespaces          []string         `json:"excludedNamespaces,omitempty"`
	Auth                        AuthConfig       `json:"auth"`
	Endpoints                   Endpoints        `json:"endpoints"`
}

// AuthConfig configures the auth service (`devgate auth`, SPEC 7).
type AuthConfig struct {
	// TrustedProxies are the CIDRs (or bare IPs) whose X-Real-IP and
	// X-Forwarded-For headers the auth service believes: the ingress
	// controller's pods. Any other caller is the connection's peer.
	TrustedProxies []string `json:"trustedProxies,omitempty"`
	// PublicURL is the base of the sign-in page, invitation links and the
	// dashboard as users reach it; default https://<domain>/auth.
	PublicURL string `json:"publicURL,omitempty"`
	// UsersNamespace holds the users' ServiceAccounts and the invitations;
	// empty: devgate's own namespace.
	UsersNamespace string `json:"usersNamespace,omitempty"`
	// TokenSignIn offers the token form on the sign-in page (default true).
	TokenSignIn *bool `json:"tokenSignIn,omitempty"`
}

// AuthPublicURL is auth.publicURL without a trailing slash, by default
// https://<domain>/auth.
func (c *Config) AuthPublicURL() string {
	if c.Auth.PublicURL != "" {
		return strings.TrimRight(c.Auth.PublicURL, "/")
	}
	return "https://" + c.Domain + "/auth"
}

// SignInWithToken reports whether the sign-in page offers the token form.
func (a AuthConfig) SignInWithToken() bool { return a.TokenSignIn == nil || *a.TokenSignIn }

// UsersNamespaceOr is auth.usersNamespace, or own (devgate's own namespace)
// when it is empty.
func (a AuthConfig) UsersNamespaceOr(own string) string {
	if a.UsersNamespace != "" {
		return a.UsersNamespace
	}
	return own
}

// TrustedProxyPrefixes parses auth.trustedProxies: each a CIDR or a bare IP
// (a single-address prefix). IPv4-mapped IPv6 forms are unmapped.
func (a AuthConfig) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(a.TrustedProxies))
	for _, s := range a.TrustedProxies {
		p, err := parseProxy(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped prefix must be at least /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ConfigMetadata names a configuration file when it is stored as an object.
type ConfigMetadata struct {
	Name string `json:"name,omitempty"`
}

// TLS says how Ingress hosts get their certificates.
type TLS struct {
	Mode          string `json:"mode,omitempty"`
	ClusterIssuer string `json:"clusterIssuer,omitempty"`
}

// PrivateEndpoints configures the external-auth annotations of private endpoints.
type PrivateEndpoints struct {
	AuthURL         string   `json:"authURL,omitempty"`
	SigninURL       string   `json:"signinURL,omitempty"`
	ResponseHeaders []string `json:"responseHeaders,omitempty"`
}

// Tokens configures the token policies (SPEC 5).
type Tokens struct {
	MaxTTL      *metav1.Duration `json:"maxTTL,omitempty"`
	MinLength   int              `json:"minLength,omitempty"`
	AdminGroups []string         `json:"adminGroups,omitempty"`
	Issuers     []string         `json:"issuers,omitempty"`
	// SystemDeleters may delete any token Secret: the namespace controller and
	// the garbage collector act for nobody's token, and a namespace that holds
	// token Secrets must still be deletable.
	SystemDeleters []string        `json:"systemDeleters,omitempty"`
	GuardedSecrets []GuardedSecret `json:"guardedSecrets,omitempty"`
}

// GuardedSecret names a plain Secret that holds a token under one key.
type GuardedSecret struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// DefaultDomain is the domain of the CLI's built-in configuration.
const DefaultDomain = "okteto.example.com"

// DefaultClusterDomain is clusterDomain's default, Kubernetes' own.
const DefaultClusterDomain = "cluster.local"

// Default returns the built-in configuration that `devgate check` uses
// without --config: every default of SPEC 1 with domain okteto.example.com.
func Default() *Config {
	c := &Config{APIVersion: APIVersion, Kind: Kind, Domain: DefaultDomain}
	c.SetDefaults()
	return c
}

// SetDefaults fills every field the file left out with its documented default.
func (c *Config) SetDefaults() {
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	if c.TLS.Mode == "" {
		c.TLS.Mode = TLSModeDefaultCertificate
	}
	if c.ConvertLoadBalancedServices == nil {
		c.ConvertLoadBalancedServices = ptr.To(true)
	}
	if c.DenySnippets == nil {
		c.DenySnippets = ptr.To(true)
	}
	if c.PrivateEndpoints.AuthURL == "" && c.Domain != "" {
		c.PrivateEndpoints.AuthURL = "https://" + c.Domain + "/auth/verify"
	}
	if c.PrivateEndpoints.SigninURL == "" && c.Domain != "" {
		c.PrivateEndpoints.SigninURL = "https://" + c.Domain + "/auth/signin"
	}
	if c.PrivateEndpoints.ResponseHeaders == nil {
		c.PrivateEndpoints.ResponseHeaders = []string{"X-Auth-Request-User", "X-Auth-Request-Email"}
	}
	// auth.publicURL stays empty when unset (see AuthPublicURL), so that
	// `devgate dev` can tell whether the file chose one.
	c.Auth.PublicURL = strings.TrimRight(c.Auth.PublicURL, "/")
	if c.Auth.TokenSignIn == nil {
		c.Auth.TokenSignIn = ptr.To(true)
	}
	if c.Tokens.MaxTTL == nil {
		c.Tokens.MaxTTL = &metav1.Duration{Duration: 2160 * time.Hour}
	}
	if c.Tokens.MinLength == 0 {
		c.Tokens.MinLength = 16
	}
	if c.Tokens.AdminGroups == nil {
		c.Tokens.AdminGroups = []string{"system:masters"}
	}
	if c.Tokens.SystemDeleters == nil {
		c.Tokens.SystemDeleters = []string{
			"system:serviceaccount:kube-system:namespace-controller",
			"system:serviceaccount:kube-system:generic-garbage-collector",
		}
	}
	if c.ExcludedNamespaces == nil {
		c.ExcludedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}
	}
	c.Endpoints.setDefaults()
}

// Validate reports every invalid value at once, as field errors.
func (c *Config) Validate() field.ErrorList {
	var errs field.ErrorList
	if c.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), c.APIVersion, []string{APIVersion}))
	}
	if c.Kind != Kind {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), c.Kind, []string{Kind}))
	}
	domain := field.NewPath("domain")
	switch {
	case c.Domain == "":
		errs = append(errs, field.Required(domain, "the wildcard DNS domain of endpoints, e.g. okteto.example.com"))
	default:
		for _, msg := range validation.IsDNS1123Subdomain(c.Domain) {
			errs = append(errs, field.Invalid(domain, c.Domain, msg))
		}
		if strings.HasPrefix(c.Domain, "*.") {
			errs = append(errs, field.Invalid(domain, c.Domain, "give the domain without the wildcard label"))
		}
	}
	if c.IngressClassName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(c.IngressClassName) {
			errs = append(errs, field.Invalid(field.NewPath("ingressClassName"), c.IngressClassName, msg))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(c.ClusterDomain) {
		errs = append(errs, field.Invalid(field.NewPath("clusterDomain"), c.ClusterDomain, msg))
	}
	modes := []string{TLSModeDefaultCertificate, TLSModeCertManager, TLSModeNone}
	if !slices.Contains(modes, c.TLS.Mode) {
		errs = append(errs, field.NotSupported(field.NewPath("tls", "mode"), c.TLS.Mode, modes))
	}
	if c.TLS.Mode == TLSModeCertManager && c.TLS.ClusterIssuer == "" {
		errs = append(errs, field.Required(field.NewPath("tls", "clusterIssuer"), "the cert-manager ClusterIssuer is required in cert-manager mode"))
	}
	pe := field.NewPath("privateEndpoints")
	for name, raw := range map[string]string{"authURL": c.PrivateEndpoints.AuthURL, "signinURL": c.PrivateEndpoints.SigninURL} {
		if err := validateHTTPURL(raw); err != nil {
			errs = append(errs, field.Invalid(pe.Child(name), raw, err.Error()))
		}
	}
	for i, h := range c.PrivateEndpoints.ResponseHeaders {
		for _, msg := range validation.IsHTTPHeaderName(h) {
			errs = append(errs, field.Invalid(pe.Child("responseHeaders").Index(i), h, msg))
		}
	}
	tok := field.NewPath("tokens")
	if c.Tokens.MaxTTL.Duration <= 0 || c.Tokens.MaxTTL.Duration%time.Millisecond != 0 {
		errs = append(errs, field.Invalid(tok.Child("maxTTL"), c.Tokens.MaxTTL.Duration.String(), "must be a positive whole number of milliseconds"))
	}
	if c.Tokens.MinLength < 8 || c.Tokens.MinLength > 4096 {
		errs = append(errs, field.Invalid(tok.Child("minLength"), c.Tokens.MinLength, "must be between 8 and 4096"))
	}
	for i, g := range c.Tokens.GuardedSecrets {
		p := tok.Child("guardedSecrets").Index(i)
		if g.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		}
		if g.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if g.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
	}
	for i, s := range c.Auth.TrustedProxies {
		if _, err := parseProxy(s); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("auth", "trustedProxies").Index(i), s, err.Error()))
		}
	}
	if err := validateHTTPURL(c.AuthPublicURL()); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("auth", "publicURL"), c.Auth.PublicURL, err.Error()))
	}
	if c.Auth.UsersNamespace != "" {
		for _, msg := range validation.IsDNS1123Label(c.Auth.UsersNamespace) {
			errs = append(errs, field.Invalid(field.NewPath("auth", "usersNamespace"), c.Auth.UsersNamespace, msg))
		}
	}
	errs = append(errs, c.Endpoints.validate(field.NewPath("endpoints"))...)
	return errs
}

func validateHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must have no query or fragment: devgate appends its own query")
	}
	return nil
}

// Parse reads a configuration from YAML or JSON. Unknown fields are errors, and
// so is any invalid value; defaults are applied before validation.
func Parse(data []byte) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("the configuration is empty: at least apiVersion, kind and domain are required")
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, err
	}
	c.SetDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &c, nil
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Managed reports whether devgate acts on objects in namespace. devgateNamespace,
// devgate's own namespace, is never managed either.
func (c *Config) Managed(namespace string) bool {
	return !slices.Contains(c.ExcludedNamespaces, namespace)
}

// ClusterDomainName is clusterDomain as names are compared with it: lower
// case, without a trailing dot, and the default for a configuration built
// without SetDefaults.
func (c *Config) ClusterDomainName() string {
	cd := c.ClusterDomain
	if cd == "" {
		cd = DefaultClusterDomain
	}
	return strings.ToLower(strings.TrimSuffix(cd, "."))
}

// ConvertLoadBalanced reports whether LoadBalancer and NodePort Services become endpoints.
func (c *Config) ConvertLoadBalanced() bool { return *c.ConvertLoadBalancedServices }

// DenyNginxSnippets reports whether configuration-injection annotations are denied.
func (c *Config) DenyNginxSnippets() bool { return *c.DenySnippets }

// MaxTTLMillis is tokens.maxTTL in milliseconds, the unit of a token Secret's ttl.
func (c *Config) MaxTTLMillis() int64 { return c.Tokens.MaxTTL.Milliseconds() }

// IsAdmin reports whether a requester in groups is a token admin.
func (c *Config) IsAdmin(groups []string) bool {
	for _, g := range groups {
		if slices.Contains(c.Tokens.AdminGroups, g) {
			return true
		}
	}
	return false
}

// IsIssuer reports whether username may set ServiceAccount token labels.
func (c *Config) IsIssuer(username string) bool { return slices.Contains(c.Tokens.Issuers, username) }

// IsSystemDeleter reports whether username may delete any token Secret
// (tokens.systemDeleters).
func (c *Config) IsSystemDeleter(username string) bool {
	return username != "" && slices.Contains(c.Tokens.SystemDeleters, username)
}
