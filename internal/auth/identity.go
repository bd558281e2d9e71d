package auth

import (
	"net/mail"
	"time"
)

// Identity is the user a credential resolves to.
type Identity struct {
	// User is the Kubernetes username access is reviewed for, and the value
	// of X-Auth-Request-User.
	User string
	// Groups are the groups the SubjectAccessReview is made with.
	Groups []string
	// Email is the value of X-Auth-Request-Email; empty when none is known.
	Email string
	// Expires is when the token stops being valid; zero when it does not
	// expire (ServiceAccount tokens).
	Expires time.Time
	// UID is the UID of the object the token was resolved from (its token
	// Secret or ServiceAccount): sessions carry it and end with that object.
	UID string
	// uids are the UIDs of every object the token resolved from (one user).
	uids []string
}

// heldBy reports whether the token was resolved from the object with UID uid.
func (id Identity) heldBy(uid string) bool {
	for _, u := range id.uids {
		if u == uid {
			return true
		}
	}
	return false
}

const groupAuthenticated = "system:authenticated"

// emailOf returns s when it is a bare email address ("a@b.example"), else "".
func emailOf(s string) string {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return ""
	}
	return s
}

// headerSafe reports whether s can be sent as a header value unchanged: no
// control characters, which would be rewritten or refused on the way.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
