package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func TestSignedCertificateIsTrustedThroughTheCAOnly(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Sign("server", "127.0.0.1", "localhost", "*.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM); err != nil {
		t.Fatalf("tls.crt and tls.key do not match: %v", err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "web.example.test"} {
		if _, err := serving.Cert.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool()}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := serving.Cert.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: ca.Pool()}); err == nil {
		t.Error("verified for a host it was not made for")
	}
	other, err := NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serving.Cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: other.Pool()}); err == nil {
		t.Error("verified by another CA")
	}
	if serving.Cert.IsCA {
		t.Error("a serving certificate must not be a CA")
	}
	if _, err := ca.Sign("server"); err == nil {
		t.Error("a certificate without hosts was made")
	}
}
