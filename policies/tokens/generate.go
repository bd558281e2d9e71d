package tokens

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// GeneratedTokenLength is the length of a generated token (SPEC 5.1): 40
// characters of [A-Za-z0-9] carry 238 bits, as Rancher's generated tokens do.
const GeneratedTokenLength = 40

// tokenAlphabet is the character set of a generated token.
const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randReader is where generated tokens come from. It is crypto/rand's
// reader everywhere but in this package's tests, which replace it to get
// values they can predict.
var randReader io.Reader = rand.Reader

// GenerateToken returns a new token of GeneratedTokenLength characters of
// [A-Za-z0-9] from crypto/rand. It is strong (CheckStrength) under the
// default tokens.minLength.
func GenerateToken() (string, error) { return generateToken(GeneratedTokenLength) }

// maxGenerateAttempts bounds how often a value that CheckStrength rejects
// is drawn again. With crypto/rand a second draw is already beyond belief (a
// 40-character value with fewer than 8 distinct characters, or a placeholder
// followed by 30-odd digits); the bound only stops a broken reader from
// looping forever.
const maxGenerateAttempts = 8

// generateToken returns a strong token of n characters (at least
// CheckStrength's minimum n; n is at most MaxTokenLength).
func generateToken(n int) (string, error) {
	for range maxGenerateAttempts {
		v, err := randomString(n)
		if err != nil {
			return "", err
		}
		if CheckStrength(v, n) == nil {
			return v, nil
		}
	}
	return "", errors.New("the random source gave no strong token")
}

// randomString draws n characters of tokenAlphabet uniformly: a random byte
// is used only when it is below the largest multiple of the alphabet's size
// (248 = 4*62), so that every character is equally likely (no modulo bias).
func randomString(n int) (string, error) {
	const limit = 256 - 256%len(tokenAlphabet)
	var b strings.Builder
	b.Grow(n)
	// A quarter more bytes than characters is almost always one read: 8 of
	// 256 byte values are rejected.
	buf := make([]byte, n+n/4+8)
	for b.Len() < n {
		if _, err := io.ReadFull(randReader, buf); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		for _, c := range buf {
			if int(c) < limit {
				b.WriteByte(tokenAlphabet[int(c)%len(tokenAlphabet)])
				if b.Len() == n {
					break
				}
			}
		}
	}
	return b.String(), nil
}

// GeneratedNote is the suffix of the warning a mutation gives for each value
// it generated, after the value's path (`data[token]`). `devgate check`
// recognises it (GeneratedPointers) to show the value as never stored.
const GeneratedNote = ": a token is generated at admission (40 random letters and digits)"

// generatedTokenLength is the length of a token generated under minLength:
// GeneratedTokenLength, or minLength when a longer minimum is configured, so
// that what is generated always passes validation.
func generatedTokenLength(minLength int) int {
	return min(max(GeneratedTokenLength, minLength), MaxTokenLength)
}

// generateInto sets key of s to a generated token and returns the warning
// that says so (never the value). When no token can be generated, key stays
// empty for Validate to deny, and the warning says why.
func generateInto(s *corev1.Secret, key string, minLength int) string {
	path := secretPath(s, key)
	v, err := generateToken(generatedTokenLength(minLength))
	if err != nil {
		return fmt.Sprintf("%s: no token could be generated: %v", path, err)
	}
	setSecretValue(s, key, v)
	return path.String() + GeneratedNote
}

// emptyKey reports whether key is present in data or stringData with an
// empty (or null) value: what a guarded Secret's token is generated for.
func emptyKey(s *corev1.Secret, key string) bool {
	_, inData := s.Data[key]
	_, inStringData := s.StringData[key]
	return (inData || inStringData) && secretValue(s, key) == ""
}

// generatableKey reports whether key is a valid Secret data key. Another key
// is denied by the API server whatever devgate does; a token is never
// generated under it, so a note about it never names a huge key.
func generatableKey(key string) bool { return len(validation.IsConfigMapKey(key)) == 0 }

// GeneratedPointers returns the JSON pointers ("/data/token",
// "/stringData/api-key") of the values that warnings, as a mutation gave
// them, say were generated: the values a dry run or `devgate check` shows
// that are never stored.
func GeneratedPointers(warnings []string) []string {
	var ptrs []string
	for _, w := range warnings {
		rest, ok := strings.CutSuffix(w, GeneratedNote)
		if !ok {
			continue
		}
		for _, root := range []*field.Path{dataPath, stringDataPath} {
			if key, ok := strings.CutPrefix(rest, root.String()+"["); ok && strings.HasSuffix(key, "]") {
				key = strings.TrimSuffix(key, "]")
				ptrs = append(ptrs, "/"+root.String()+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(key))
			}
		}
	}
	return ptrs
}
