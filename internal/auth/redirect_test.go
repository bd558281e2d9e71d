package auth

import "testing"

func TestSafeRedirect(t *testing.T) {
	const domain = "okteto.example.com"
	allowed := map[string]string{
		"https://web-alice.okteto.example.com/":             "https://web-alice.okteto.example.com/",
		"https://web-alice.okteto.example.com/a/b?c=d&e=f":  "https://web-alice.okteto.example.com/a/b?c=d&e=f",
		"https://okteto.example.com/dashboard":              "https://okteto.example.com/dashboard",
		"https://web-alice.okteto.example.com:443/x":        "https://web-alice.okteto.example.com:443/x",
		"HTTPS://web-alice.okteto.example.com/":             "https://web-alice.okteto.example.com/",
		"https://web-alice.okteto.example.com/%2F%2Fevil":   "https://web-alice.okteto.example.com/%2F%2Fevil",
		"https://web-alice.okteto.example.com/#/app/routes": "https://web-alice.okteto.example.com/#/app/routes",
	}
	for rd, want := range allowed {
		got, err := safeRedirect(rd, domain)
		if err != nil || got != want {
			t.Errorf("safeRedirect(%q) = %q, %v; want %q", rd, got, err, want)
		}
	}
	refused := []string{
		"",
		"https://evil.com",
		"https://evil.com/https://web-alice.okteto.example.com",
		"//evil.com",
		"//web-alice.okteto.example.com/",
		"/relative/path",
		"https://okteto.example.com.evil.com",
		"https://okteto.example.com.evil.com/",
		"https://evilokteto.example.com/",
		"https://example.com/",
		"http://x.okteto.example.com",
		"javascript:alert(1)",
		"JavaScript://okteto.example.com/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>",
		"https://okteto.example.com@evil.com/",
		"https://user:pass@web-alice.okteto.example.com/",
		"https:\\\\evil.com",
		"https://evil.com\\.okteto.example.com/",
		"https://web-alice.okteto.example.com\\@evil.com/",
		"https:evil.com",
		"https:web-alice.okteto.example.com",
		"https:///evil.com",
		"https://web-alice.okteto.example.com:8443/",
		"https://web-alice.okteto.example.com./",
		"https://WEB-alice.okteto.example.com/",
		"https://web-alice.okteto.example.com/\r\nSet-Cookie: x=y",
		"https://web-alice.okteto.example.com/\tx",
		" https://web-alice.okteto.example.com/",
		"https://*.okteto.example.com/",
		"https://%65vil.com/",
		"https://web-alice.okteto.example.com%2f@evil.com/",
		"ftp://web-alice.okteto.example.com/",
	}
	for _, rd := range refused {
		if got, err := safeRedirect(rd, domain); err == nil {
			t.Errorf("safeRedirect(%q) = %q, want a refusal", rd, got)
		}
	}
}
