package tokens

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestGenerateToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		v, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 40 {
			t.Fatalf("generated %d characters, want 40", len(v))
		}
		if strings.Trim(v, tokenAlphabet) != "" {
			t.Fatalf("generated a character outside [A-Za-z0-9]")
		}
		if err := CheckStrength(v, 16); err != nil {
			t.Fatalf("generated a weak token: %v", err)
		}
		if seen[v] {
			t.Fatal("generated the same token twice")
		}
		seen[v] = true
	}
	if len(tokenAlphabet) != 62 || strings.Trim("AZaz09", tokenAlphabet) != "" {
		t.Fatalf("alphabet %q", tokenAlphabet)
	}
}

// cycle yields 0, 1, ..., 255, 0, 1, ... for ever.
type cycle struct{ next byte }

func (c *cycle) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

// TestRandomStringIsUnbiased: fed every byte value equally often, every
// character comes out equally often. Mapping bytes 248-255 rather than
// rejecting them (modulo bias) would favour A-H.
func TestRandomStringIsUnbiased(t *testing.T) {
	defer SetRandReader(&cycle{})()
	const perChar = 12
	v, err := randomString(len(tokenAlphabet) * perChar)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []byte(tokenAlphabet) {
		if n := strings.Count(v, string(c)); n != perChar {
			t.Fatalf("%q comes out %d times, want %d", c, n, perChar)
		}
	}
}

// TestRandomStringRejects: a byte of 248 or more is never used.
func TestRandomStringRejects(t *testing.T) {
	defer SetRandReader(io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{248, 255}, 100)), &cycle{}))()
	v, err := randomString(3)
	if err != nil || v != "ABC" {
		t.Fatalf("randomString = %q, %v; want ABC from the bytes after the rejected ones", v, err)
	}
}

func TestGenerateTokenErrors(t *testing.T) {
	defer SetRandReader(iotest.ErrReader(errors.New("no entropy")))()
	if v, err := GenerateToken(); err == nil || v != "" || !strings.Contains(err.Error(), "no entropy") {
		t.Fatalf("GenerateToken = %q, %v; want the reader's error", v, err)
	}
	// A reader that gives only one byte value never gives a strong token.
	SetRandReader(bytes.NewReader(bytes.Repeat([]byte{7}, 1<<16)))
	if v, err := GenerateToken(); err == nil || v != "" {
		t.Fatalf("GenerateToken = %q, %v; want an error", v, err)
	}
}

// A configured minimum above 40 characters gets a token that long, so that
// what is generated is always admitted.
func TestGeneratedTokenLength(t *testing.T) {
	for minLength, want := range map[int]int{8: 40, 16: 40, 40: 40, 64: 64, 4096: 4096} {
		if got := generatedTokenLength(minLength); got != want {
			t.Errorf("generatedTokenLength(%d) = %d, want %d", minLength, got, want)
		}
	}
}

func TestGeneratedPointers(t *testing.T) {
	got := GeneratedPointers([]string{
		"data[token]" + GeneratedNote,
		"stringData[keptn-api-token]" + GeneratedNote,
		"data[a/b~c]" + GeneratedNote,
		"data[ttl]: ttl of 7776000000 milliseconds",
		"metadata.labels[x]" + GeneratedNote,
	})
	want := []string{"/data/token", "/stringData/keptn-api-token", "/data/a~1b~0c"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("GeneratedPointers = %q, want %q", got, want)
	}
}
