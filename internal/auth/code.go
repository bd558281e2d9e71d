package auth

import (
	"container/heap"
	"crypto/rand"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// CodeParam is the query parameter that carries a sign-in code to an
// endpoint host, where /verify redeems it for that host's own session.
const CodeParam = "devgate_code"

// CodeTTL is how long a code can be redeemed: the redirect that carries it
// is followed at once.
const CodeTTL = 60 * time.Second

// maxCodes bounds the codes one request may carry.
const maxCodes = 4

const (
	errBadCode      refusal = "sign-in code malformed or not signed by this service"
	errCodeExpired  refusal = "sign-in code expired"
	errCodeHost     refusal = "sign-in code of another host"
	errCodeSpent    refusal = "sign-in code already redeemed"
	errTooManyCodes refusal = "too many sign-in codes"
	errNoTarget     refusal = "session cookie or code without a usable X-Original-URL"
)

// code is a decoded sign-in code: the right to one endpoint session of the
// token with digest Digest, resolved from the object with UID UID, on Host,
// until SessionExpires.
type code struct {
	Expires        time.Time
	SessionExpires time.Time
	Digest         Digest
	UID            string
	Host           string
	Nonce          [16]byte
}

// EncodeCode returns a fresh code for host with a random nonce, valid for
// CodeTTL from now, granting a session of d (resolved from the object with
// UID uid) that ends at sessionExpires.
func (s Sessions) EncodeCode(d Digest, uid string, sessionExpires time.Time, host string, now time.Time) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	return s.sign(kindCode, unix(now.Add(CodeTTL)), unix(sessionExpires), b64.EncodeToString(d[:]),
		b64.EncodeToString([]byte(uid)), b64.EncodeToString([]byte(host)), b64.EncodeToString(nonce[:]))
}

// DecodeCode checks a code's signature and expiry. Whether it is for the
// right host, and whether it was redeemed already, is the caller's to check.
func (s Sessions) DecodeCode(value string, now time.Time) (code, error) {
	var c code
	f, err := s.open(value, kindCode, 6)
	if err != nil {
		return c, errBadCode
	}
	if c.Expires, c.Digest, err = expiryAndDigest(f[0], f[2], now, errCodeExpired); err != nil {
		if err == errBadCookie {
			err = errBadCode
		}
		return c, err
	}
	sessionExp, err := strconv.ParseInt(f[1], 10, 64)
	uid, uerr := b64.DecodeString(f[3])
	host, herr := b64.DecodeString(f[4])
	nonce, nerr := b64.DecodeString(f[5])
	if err != nil || uerr != nil || herr != nil || nerr != nil || len(nonce) != len(c.Nonce) {
		return code{}, errBadCode
	}
	c.SessionExpires = time.Unix(sessionExp, 0)
	if !now.Before(c.SessionExpires) {
		return code{}, errCodeExpired
	}
	c.Host, c.UID = string(host), string(uid)
	copy(c.Nonce[:], nonce)
	return c, nil
}

// withCode returns rd (an absolute URL, as safeRedirect returns it) with the
// code as its CodeParam, replacing any the URL already had. The rest of the
// query is kept as it was written.
func withCode(rd, value string) (string, error) {
	u, err := url.Parse(rd)
	if err != nil {
		return "", err
	}
	var kept []string
	if u.RawQuery != "" {
		for _, p := range strings.Split(u.RawQuery, "&") {
			k, _, _ := strings.Cut(p, "=")
			if uk, err := url.QueryUnescape(k); err == nil && uk == CodeParam {
				continue
			}
			kept = append(kept, p)
		}
	}
	u.RawQuery = strings.Join(append(kept, CodeParam+"="+url.QueryEscape(value)), "&")
	u.ForceQuery = false
	return u.String(), nil
}

// originalURL reads X-Original-URL, which ingress-nginx sets to
// $scheme://$http_host$request_uri, and returns its host (lower case, without
// port or trailing dot, as nginx matches server names) and the codes its
// query carries. The host is what the client sent as Host: only a namespace
// check (see Authenticator) ties it to the endpoint nginx routed to.
func originalURL(raw string) (host string, codes []string, ok bool) {
	if raw == "" || len(raw) > 16<<10 {
		return "", nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Opaque != "" {
		return "", nil, false
	}
	host = u.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || len(validation.IsDNS1123Subdomain(host)) > 0 {
		return "", nil, false
	}
	// A query nginx passed but Go cannot fully parse still yields its
	// well-formed parameters: a code among them must not go unseen.
	q, _ := url.ParseQuery(u.RawQuery)
	return host, q[CodeParam], true
}

// CodeLedger remembers the nonces of redeemed codes until they expire, so
// each code is redeemed at most once (per replica: it is in memory).
// At MaxEntries it forgets the nonce that expires first, and from then on
// refuses every code that expires no later than that one: a forgotten code
// can never be redeemed again, at worst a fresh one is refused under a flood.
type CodeLedger struct {
	MaxEntries int

	mu    sync.Mutex
	spent map[[16]byte]struct{}
	queue nonceHeap
	floor int64 // codes expiring at or before this unix second are refused
}

// Redeem records c's nonce and reports whether it was not redeemed before.
func (l *CodeLedger) Redeem(c code, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spent == nil {
		l.spent = map[[16]byte]struct{}{}
	}
	for len(l.queue) > 0 && l.queue[0].expires <= now.Unix() {
		delete(l.spent, heap.Pop(&l.queue).(spentNonce).nonce)
	}
	exp := c.Expires.Unix()
	if _, seen := l.spent[c.Nonce]; seen || exp <= l.floor {
		return false
	}
	for len(l.queue) >= max(1, l.MaxEntries) {
		old := heap.Pop(&l.queue).(spentNonce)
		delete(l.spent, old.nonce)
		l.floor = max(l.floor, old.expires)
		if exp <= l.floor {
			return false
		}
	}
	l.spent[c.Nonce] = struct{}{}
	heap.Push(&l.queue, spentNonce{nonce: c.Nonce, expires: exp})
	return true
}

type spentNonce struct {
	nonce   [16]byte
	expires int64
}

// nonceHeap orders spent nonces by expiry, the first to expire on top.
type nonceHeap []spentNonce

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(spentNonce)) }
func (h *nonceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
