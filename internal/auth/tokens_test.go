package auth

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/internal/configsource"
	"devgate.dev/devgate/policies/tokens"
)

func resolverFor(store Store) *Resolver {
	return &Resolver{Store: store, Config: configsource.Static(testConfig()), Now: func() time.Time { return testNow }}
}

func TestResolveTokenSecret(t *testing.T) {
	id, err := resolverFor(standardStore()).Resolve(context.Background(), DigestOf(memberToken))
	if err != nil {
		t.Fatal(err)
	}
	wantExpiry := testNow.Add(-time.Hour).Add(2160 * time.Hour)
	if id.User != "alice@example.com" || id.Email != "alice@example.com" ||
		!slices.Equal(id.Groups, []string{"system:authenticated"}) || !id.Expires.Equal(wantExpiry) {
		t.Fatalf("identity = %+v, want alice@example.com with email, expiring %v", id, wantExpiry)
	}
	id, err = resolverFor(standardStore()).Resolve(context.Background(), DigestOf(outsiderToken))
	if err != nil || id.User != "mallory" || id.Email != "" {
		t.Fatalf("outsider = %+v, %v; want mallory without email", id, err)
	}
}

func TestResolveServiceAccount(t *testing.T) {
	id, err := resolverFor(standardStore()).Resolve(context.Background(), DigestOf(saToken))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"}
	if id.User != "system:serviceaccount:team-a:ci" || id.Email != "" || !slices.Equal(id.Groups, want) || !id.Expires.IsZero() {
		t.Fatalf("identity = %+v", id)
	}
}

func TestResolveRefusals(t *testing.T) {
	maxTTL := "7776000000"
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   error
	}{
		{"enabled false", tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyEnabled: "false"}), errDisabledToken},
		{"enabled neither true nor false", tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyEnabled: "no"}), errDisabledToken},
		{"ttl elapsed", tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "3600000"}), errExpiredToken},
		{"ttl unreadable", tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "2h"}), errInvalidToken},
		{"ttl zero", tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "0"}), errInvalidToken},
		{"no user-id", tokenSecret("s", memberToken, "", nil), errInvalidToken},
		{"user-id with a newline", tokenSecret("s", memberToken, "alice\nX-Evil: 1", nil), errInvalidToken},
		{"no creation time", func() *corev1.Secret {
			s := tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: maxTTL})
			s.CreationTimestamp = metav1.Time{}
			return s
		}(), errExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolverFor(&fakeStore{secrets: []*corev1.Secret{tt.secret}}).Resolve(context.Background(), DigestOf(memberToken))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestResolveTTLBounds(t *testing.T) {
	old := tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "99999999999999"})
	old.CreationTimestamp = metav1.NewTime(testNow.Add(-91 * 24 * time.Hour))
	if _, err := resolverFor(&fakeStore{secrets: []*corev1.Secret{old}}).Resolve(context.Background(), DigestOf(memberToken)); !errors.Is(err, errExpiredToken) {
		t.Fatalf("a ttl above maxTTL must count as maxTTL: err = %v", err)
	}
	fresh := tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "7200000"})
	id, err := resolverFor(&fakeStore{secrets: []*corev1.Secret{fresh}}).Resolve(context.Background(), DigestOf(memberToken))
	if err != nil || !id.Expires.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("2h token created 1h ago: %+v, %v", id, err)
	}
}

func TestResolveUnknownAndAmbiguous(t *testing.T) {
	r := resolverFor(standardStore())
	if _, err := r.Resolve(context.Background(), DigestOf(unknownToken)); !errors.Is(err, errUnknownToken) {
		t.Fatalf("unknown: err = %v", err)
	}
	twoUsers := &fakeStore{secrets: []*corev1.Secret{
		tokenSecret("a", memberToken, "alice", nil), tokenSecret("b", memberToken, "bob", nil)}}
	if _, err := resolverFor(twoUsers).Resolve(context.Background(), DigestOf(memberToken)); !errors.Is(err, errAmbiguousToken) {
		t.Fatalf("two users: err = %v", err)
	}
	sameUser := &fakeStore{secrets: []*corev1.Secret{
		tokenSecret("a", memberToken, "alice", nil), tokenSecret("b", memberToken, "alice", nil)}}
	if id, err := resolverFor(sameUser).Resolve(context.Background(), DigestOf(memberToken)); err != nil || id.User != "alice" {
		t.Fatalf("same user twice: %+v, %v", id, err)
	}
	// A disabled copy does not hide a valid one.
	mixed := &fakeStore{secrets: []*corev1.Secret{
		tokenSecret("a", memberToken, "alice", map[string]string{tokens.KeyEnabled: "false"}), tokenSecret("b", memberToken, "alice", nil)}}
	if _, err := resolverFor(mixed).Resolve(context.Background(), DigestOf(memberToken)); err != nil {
		t.Fatalf("valid and disabled copy: %v", err)
	}
}

func TestResolveStoreError(t *testing.T) {
	_, err := resolverFor(&fakeStore{err: errBoom}).Resolve(context.Background(), DigestOf(memberToken))
	var why refusal
	if err == nil || errors.As(err, &why) {
		t.Fatalf("a store failure must be an error, not a refusal: %v", err)
	}
}

func TestTrimSecretKeepsNoToken(t *testing.T) {
	s := tokenSecret("s", memberToken, "alice", map[string]string{tokens.KeyTTL: "60000", tokens.KeyDescription: "ci"})
	s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": memberToken}
	out, err := trimSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := out.(*corev1.Secret)
	if _, ok := trimmed.Data[tokens.KeyToken]; ok {
		t.Fatal("the cached Secret holds the token")
	}
	if len(trimmed.Annotations) != 1 || trimmed.Annotations[secretDigestAnnotation] != DigestOf(memberToken).String() {
		t.Fatalf("annotations = %v", trimmed.Annotations)
	}
	if string(trimmed.Data[tokens.KeyUserID]) != "alice" || string(trimmed.Data[tokens.KeyTTL]) != "60000" || len(trimmed.Data) != 2 {
		t.Fatalf("data = %v", trimmed.Data)
	}
	again, _ := trimSecret(trimmed.DeepCopy())
	if !reflect.DeepEqual(again, trimmed) {
		t.Fatalf("a second transform changed the Secret: %+v", again)
	}
	if got := secretIndex(trimmed); !slices.Equal(got, []string{DigestOf(memberToken).String()}) {
		t.Fatalf("index = %v", got)
	}
	if got := secretIndex(tokenSecret("empty", "", "alice", nil)); got != nil {
		t.Fatalf("a Secret without token is indexed: %v", got)
	}
}

func TestEmailOf(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":         "alice@example.com",
		"alice":                     "",
		"Alice <alice@example.com>": "",
		"system:serviceaccount:a:b": "",
		"a@b@c":                     "",
	} {
		if got := emailOf(in); got != want {
			t.Errorf("emailOf(%q) = %q, want %q", in, got, want)
		}
	}
}
