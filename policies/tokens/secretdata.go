package tokens

import (
	"iter"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"devgate.dev/devgate/policies/text"
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

// secretValue returns the value of key as the API server will store it;
// secretPath is where to report it.
//
// A key in stringData overrides the same key in data. In the cluster this never
// matters: the API server merges stringData into data before any admission
// webhook sees the object. The CLI, though, reads manifests as written, where
// stringData is common; reading it the way the API server will merge it makes
// `devgate check` judge what will be stored.
//
// A missing key and an empty value are the same: both read "".
//
// A value that only gets checked stays off the heap (short values are
// converted on the caller's stack once this is inlined): quote it in a denial
// with shownValue, which reads it again, rather than passing it on.
func secretValue(s *corev1.Secret, key string) string {
	if v, ok := s.StringData[key]; ok {
		return v
	}
	return string(s.Data[key])
}

// secretPath is the path to report key of s under. It names stringData when
// secretValue reads the value from there, so the user finds it in their
// manifest. It is built only for a message, never on the happy path.
func secretPath(s *corev1.Secret, key string) *field.Path {
	if _, ok := s.StringData[key]; ok {
		return stringDataPath.Key(key)
	}
	return dataPath.Key(key)
}

// shownValue is the non-secret value of key as echoed in a denial (see shown
// and secretValue).
func shownValue(s *corev1.Secret, key string) string { return shown(secretValue(s, key)) }

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

// secretKeys yields the keys of data and stringData, each once, without
// building a list: callers look for the rare unknown key.
func secretKeys(s *corev1.Secret) iter.Seq[string] {
	return func(yield func(string) bool) {
		for k := range s.Data {
			if !yield(k) {
				return
			}
		}
		for k := range s.StringData {
			if _, dup := s.Data[k]; !dup && !yield(k) {
				return
			}
		}
	}
}

// maxShown bounds a non-secret value echoed in a message, so a huge value
// cannot blow up the API server's answer or a CI log.
const maxShown = 64

// shown is a non-secret value as echoed in a denial (text.Shorten): cut to
// maxShown bytes on a character boundary. Token fields are short, so a
// shorter cut than other policies' keeps their messages to a line.
func shown(v string) string { return text.Shorten(v, maxShown) }

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
