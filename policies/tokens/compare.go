package tokens

import "crypto/subtle"

// sameSecret compares two secret values in time that depends only on their
// lengths, so how long a denial takes says nothing about how much of a stored
// token a guess got right.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
