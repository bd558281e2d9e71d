// Package testcert makes the certificates the tests and benchmarks serve on
// loopback: a certificate authority from client-go's certutil and serving
// certificates it signs. It is the one place tests make certificates, so a
// client's trust pool is always a CA and never the serving certificate
// itself, as in a real cluster.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// CA is a certificate authority that signs serving certificates.
type CA struct {
	Cert *x509.Certificate
	// PEM is the CA certificate: a caBundle, or what a client trusts.
	PEM []byte
	key crypto.Signer
}

// NewCA makes a P-256 certificate authority named name, valid for ten years
// (certutil's choice).
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: name}, key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: cert.Raw}), key: key}, nil
}

// Pool is a pool that trusts only this CA.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Serving is a certificate that the CA signed for a server, in the forms a
// server takes it.
type Serving struct {
	Cert *x509.Certificate
	// CertPEM and KeyPEM are tls.crt and tls.key.
	CertPEM, KeyPEM []byte
	TLS             tls.Certificate
}

// Sign makes a P-256 serving certificate valid for a day for hosts: IP
// literals become IP SANs, everything else DNS SANs (wildcards included).
func (ca *CA) Sign(commonName string, hosts ...string) (*Serving, error) {
	if len(hosts) == 0 {
		return nil, errors.New("testcert: a serving certificate needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		// An hour back: the clocks of the processes on loopback agree, but a
		// certificate made this second must already be valid for them.
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, host := range hosts {
		if ip := net.ParseIP(host); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	return &Serving{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: der}),
		KeyPEM:  keyPEM,
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
	}, nil
}
