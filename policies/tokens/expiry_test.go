package tokens

import (
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
)

var created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ttlSecret(ttl string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "a", CreationTimestamp: metav1.NewTime(created)},
		Type:       TypeToken,
		Data:       map[string][]byte{KeyToken: []byte("k3J9x!Qm7pL2vZ8w"), KeyUserID: []byte("alice")},
	}
	if ttl != "<none>" {
		s.Data[KeyTTL] = []byte(ttl)
	}
	return s
}

// TestExpiry: the one lifetime rule of token Secrets.
func TestExpiry(t *testing.T) {
	cfg := config.Default() // maxTTL 2160h
	maxTTL := 2160 * time.Hour
	for _, c := range []struct {
		name, ttl string
		want      time.Duration // after creation; 0 with wantErr
		wantErr   bool
	}{
		{"ttl in milliseconds", "3600000", time.Hour, false},
		{"empty is maxTTL", "", maxTTL, false},
		{"missing is maxTTL", "<none>", maxTTL, false},
		{"beyond maxTTL counts as maxTTL", "9999999999999", maxTTL, false},
		{"zero is unusable", "0", 0, true},
		{"a unit is unusable", "2h", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Expiry(ttlSecret(c.ttl), cfg)
			if c.wantErr {
				if err == nil {
					t.Fatalf("Expiry = %v, want an error", got)
				}
				return
			}
			if err != nil || !got.Equal(created.Add(c.want)) {
				t.Fatalf("Expiry = %v, %v; want %v", got, err, created.Add(c.want))
			}
		})
	}
	noTime := ttlSecret("3600000")
	noTime.CreationTimestamp = metav1.Time{}
	if _, err := Expiry(noTime, cfg); err == nil {
		t.Fatal("a Secret without creation time has an expiry")
	}
	// Lowering maxTTL shortens every token.
	short := config.Default()
	short.Tokens.MaxTTL = &metav1.Duration{Duration: time.Minute}
	if got, _ := Expiry(ttlSecret("3600000"), short); !got.Equal(created.Add(time.Minute)) {
		t.Fatalf("with maxTTL 1m: %v", got)
	}
}

// TestExpiredTokenWarning: an UPDATE of a token Secret whose token has
// expired is allowed with a warning, as devgate check shows for --old.
func TestExpiredTokenWarning(t *testing.T) {
	defer func(orig func() time.Time) { now = orig }(now)
	alice := authenticationv1.UserInfo{Username: "alice"}
	update := func() policies.Result {
		old := ttlSecret("3600000")
		obj := ttlSecret("3600000")
		obj.Data[KeyDescription] = []byte("ci")
		return NewTokenSecretPolicy().Validate(&policies.Request{Operation: policies.Update, Object: obj, OldObject: old,
			User: alice, Config: config.Default(), Lookup: policies.NoLookup{}})
	}
	now = func() time.Time { return created.Add(2 * time.Hour) }
	res := update()
	if len(res.Denials) != 0 || len(res.Warnings) != 1 ||
		res.Warnings[0] != "data[ttl]: the token expired at 2026-01-01T01:00:00Z (its creation time plus its ttl): it is refused at sign-in; create a new token Secret" {
		t.Fatalf("result %+v", res)
	}
	now = func() time.Time { return created.Add(30 * time.Minute) }
	if res := update(); len(res.Warnings) != 0 {
		t.Fatalf("a live token warned: %q", strings.Join(res.Warnings, "; "))
	}
}
