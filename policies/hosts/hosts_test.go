package hosts

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

const domain = "okteto.example.com"

func TestBuild(t *testing.T) {
	if got := Label("web", "alice"); got != "web-alice" {
		t.Errorf("Label = %q", got)
	}
	if got := Label("", "alice"); got != "alice" {
		t.Errorf("Label without name = %q", got)
	}
	if got := Host("web-alice", domain); got != "web-alice.okteto.example.com" {
		t.Errorf("Host = %q", got)
	}
	if got := URL("web-alice.okteto.example.com"); got != "https://web-alice.okteto.example.com" {
		t.Errorf("URL = %q", got)
	}
	if got := Pattern("alice", domain); got != "<name>-alice.okteto.example.com or alice.okteto.example.com" {
		t.Errorf("Pattern = %q", got)
	}
	if got := LabelTooLong(strings.Repeat("a", 63)); got != "" {
		t.Errorf("63 characters: %q", got)
	}
	if got := LabelTooLong(strings.Repeat("a", 64)); !strings.Contains(got, "is 64 characters long, at most 63") {
		t.Errorf("64 characters: %q", got)
	}
}

func TestCheck(t *testing.T) {
	label63 := strings.Repeat("a", 63-len("-alice")) + "-alice"
	cases := []struct {
		name, host, ns string
		// wantErr is a fragment of the reason, "" when the host is allowed.
		wantErr string
	}{
		{"name and namespace", "web-alice.okteto.example.com", "alice", ""},
		{"namespace only", "alice.okteto.example.com", "alice", ""},
		{"label of 63 characters", label63 + ".okteto.example.com", "alice", ""},
		{"label of 64 characters", "a" + label63 + ".okteto.example.com", "alice", "is 64 characters long, at most 63"},
		{"prefix with double dash", "a--alice.okteto.example.com", "alice", ""},
		{"empty", "", "alice", "empty"},
		{"wildcard", "*.okteto.example.com", "alice", "wildcard"},
		{"wildcard label", "*-alice.okteto.example.com", "alice", "wildcard"},
		{"trailing dot", "web-alice.okteto.example.com.", "alice", "must not end with a dot"},
		{"upper case", "Web-alice.okteto.example.com", "alice", "lower case"},
		{"unicode", "wéb-alice.okteto.example.com", "alice", "non-ASCII"},
		{"bare domain", "okteto.example.com", "alice", "belongs to the platform"},
		{"foreign domain", "web-alice.example.org", "alice", "not under the domain okteto.example.com"},
		{"suffix of the domain only", "web-aliceokteto.example.com", "alice", "not under the domain"},
		{"two labels", "web.alice.okteto.example.com", "alice", "only one label"},
		{"another namespace", "web-bob.okteto.example.com", "alice", `does not end with the namespace "alice"`},
		{"another namespace's host", "bob.okteto.example.com", "alice", `does not end with the namespace "alice"`},
		{"namespace without dash", "webalice.okteto.example.com", "alice", `does not end with the namespace`},
		{"leading dash", "-alice.okteto.example.com", "alice", "not a DNS label"},
		{"underscore", "we_b-alice.okteto.example.com", "alice", "not a DNS label"},
		{"empty label", ".okteto.example.com", "alice", "not a DNS label"},
		{"valid punycode", "xn--bcher-kva.okteto.example.com", "kva", ""},
		{"invalid punycode", "xn--abc-alice.okteto.example.com", "alice", "not valid punycode"},
		{"bare punycode prefix", "xn---alice.okteto.example.com", "alice", "not valid punycode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.host, tc.ns, domain)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Check(%q) = %v, want allowed", tc.host, err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Check(%q) allowed, want %q", tc.host, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Check(%q) = %v, want it to contain %q", tc.host, err, tc.wantErr)
			}
		})
	}
}

// FuzzCheck checks that Check never panics and only allows hosts of the
// documented shape: one DNS label of at most 63 characters under the domain,
// ending with the namespace.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"web-alice.okteto.example.com", "alice.okteto.example.com", "*.okteto.example.com",
		"web-alice.okteto.example.com.", "WEB-alice.okteto.example.com", "web-bob.okteto.example.com",
		"xn--bcher-kva.okteto.example.com", "xn--abc-alice.okteto.example.com", "", ".", "-alice.okteto.example.com",
		"wéb-alice.okteto.example.com", strings.Repeat("a", 70) + "-alice.okteto.example.com",
	} {
		f.Add(seed, "alice")
	}
	f.Add("xn--bcher-kva.okteto.example.com", "kva")
	f.Fuzz(func(t *testing.T, host, ns string) {
		if Check(host, ns, domain) != nil {
			return
		}
		label, ok := strings.CutSuffix(host, "."+domain)
		if !ok {
			t.Fatalf("allowed %q outside the domain", host)
		}
		if errs := validation.IsDNS1123Label(label); len(errs) > 0 {
			t.Fatalf("allowed %q whose first label is invalid: %v", host, errs)
		}
		if label != ns && !strings.HasSuffix(label, "-"+ns) {
			t.Fatalf("allowed %q outside namespace %q", host, ns)
		}
	})
}

func TestFor(t *testing.T) {
	for _, tc := range []struct{ name, ns string }{
		{"web", "alice"}, {"", "alice"}, {strings.Repeat("a", 57), "alice"}, {strings.Repeat("a", 58), "alice"}, {"", ""},
	} {
		if got, want := For(tc.name, tc.ns, domain), Host(Label(tc.name, tc.ns), domain); got != want {
			t.Errorf("For(%q, %q) = %q, want %q", tc.name, tc.ns, got, want)
		}
		if got, want := LabelFits(tc.name, tc.ns), LabelTooLong(Label(tc.name, tc.ns)) == ""; got != want {
			t.Errorf("LabelFits(%q, %q) = %v, want %v", tc.name, tc.ns, got, want)
		}
	}
}

// sink keeps results on the heap, as in the policies that store them.
var sink string

func TestForAllocatesOnce(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { sink = For("web", "alice", domain) }); n != 1 {
		t.Errorf("For allocates %v times, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Check("web-alice."+domain, "alice", domain) }); n != 0 {
		t.Errorf("Check of an allowed host allocates %v times, want 0", n)
	}
}

// FuzzIsDNSLabel holds the fast path of Check to the apimachinery rule it
// stands in for.
func FuzzIsDNSLabel(f *testing.F) {
	for _, seed := range []string{"", "a", "-", "a-", "-a", "a-b", "web-alice", "A", "a_b", "a.b", "0", "9-z",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "xn--bcher-kva", "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDNSLabel(s), len(validation.IsDNS1123Label(s)) == 0; got != want {
			t.Fatalf("isDNSLabel(%q) = %v, IsDNS1123Label says %v", s, got, want)
		}
	})
}
