package tokens

import "testing"

func TestSameSecret(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"Zq3vT8pL0mX5rW2kYb7n", "Zq3vT8pL0mX5rW2kYb7n", true},
		{"Zq3vT8pL0mX5rW2kYb7n", "Zq3vT8pL0mX5rW2kYb7N", false},
		{"Zq3vT8pL0mX5rW2kYb7n", "Zq3vT8pL0mX5rW2kYb7", false},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := sameSecret(c.a, c.b); got != c.want {
			t.Errorf("sameSecret(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
