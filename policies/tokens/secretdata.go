package tokens

import (
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// asSecret returns obj as a Secret, or nil when it is none (including a nil
// object, as on DELETE).
func asSecret(obj runtime.Object) *corev1.Secret {
	s, ok := obj.(*corev1.Secret)
	if !ok || s == nil {
		return nil
	}
	return s
}

// secretOfType returns obj as a Secret when it is one of type t, else nil: a
// policy ignores the Secrets it does not own.
func secretOfType(obj runtime.Object, t corev1.SecretType) *corev1.Secret {
	if s := asSecret(obj); s != nil && s.Type == t {
		return s
	}
	return nil
}

var (
	dataPath       = field.NewPath("data")
	stringDataPath = field.NewPath("stringData")
)

// secretValue returns the value of key as the API server will store it, and
// the path to report it under.
//
// A key in stringData overrides the same key in data. In the cluster this never
// matters: the API server merges stringData into data before any admission
// webhook sees the object. The CLI, though, reads manifests as written, where
// stringData is common; reading it the way the API server will merge it makes
// `devgate check` judge what will be stored. The path names stringData when the
// value came from there, so the user finds it in their manifest.
//
// A missing key and an empty value are the same: both read "".
func secretValue(s *corev1.Secret, key string) (string, *field.Path) {
	if v, ok := s.StringData[key]; ok {
		return v, stringDataPath.Key(key)
	}
	return string(s.Data[key]), dataPath.Key(key)
}

// setSecretValue sets key where secretValue reads it from: in stringData when
// the manifest has the key there (or the API server's merge would overwrite
// what a mutator put in data), else in data.
func setSecretValue(s *corev1.Secret, key, value string) {
	if _, ok := s.StringData[key]; ok {
		s.StringData[key] = value
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[key] = []byte(value)
}

// secretKeys lists the keys of data and stringData.
func secretKeys(s *corev1.Secret) []string {
	keys := make([]string, 0, len(s.Data)+len(s.StringData))
	for k := range s.Data {
		keys = append(keys, k)
	}
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			keys = append(keys, k)
		}
	}
	return keys
}

// maxShown bounds a non-secret value echoed in a message, so a huge value
// cannot blow up the API server's answer or a CI log.
const maxShown = 64

// shown is a non-secret value as echoed in a denial: cut to maxShown bytes.
// Non-UTF-8 bytes are fine: field.Error quotes string values with %q.
func shown(v string) string {
	if len(v) <= maxShown {
		return v
	}
	return fmt.Sprintf("%s... (%d bytes)", v[:maxShown], len(v))
}

// shownURL is a URL as echoed in a denial, with any user information masked
// (it may be a credential). A value that does not parse but holds an '@' may
// hold credentials too: it is redacted whole.
func shownURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			u.User = url.User("xxxxx")
		}
		return shown(u.String())
	}
	if strings.Contains(raw, "@") {
		return Redacted
	}
	return shown(raw)
}
