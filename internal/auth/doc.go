// Package auth is `devgate auth` (SPEC 7): the service behind the authURL and
// signinURL of private endpoints. ingress-nginx calls authURL for every request
// to a private endpoint (its auth-url annotation) and sends browsers to
// signinURL when the answer is 401 (auth-signin).
//
// It serves plain HTTP: it sits behind the ingress controller, which
// terminates TLS, and the cluster network in between.
//
// The rules:
//
//   - /auth/verify?namespace=NS (alias /verify), any method: the credential is
//     the `Authorization: Bearer <token>` header, else a sign-in code, else
//     the endpoint session cookie. The bearer token wins over both (codes in
//     the URL are spent all the same); a valid code wins over the cookie.
//     Codes and cookies are judged against X-Original-URL, which
//     ingress-nginx sets to $scheme://$http_host$request_uri: its host is
//     lower-cased, without port or trailing dot. Without a usable
//     X-Original-URL no cookie or code is accepted.
//   - A token is found by the SHA-256 digest of its value in two informer
//     caches: ServiceAccounts by their dev.okteto.com/token label (SPEC 5.3),
//     and Secrets of type devgate.dev/token by their `token` key (SPEC 5.1).
//     Digests are compared in constant time, and the Secret cache keeps only
//     the digest, never the token.
//   - A token Secret is refused when `enabled` is anything but empty or
//     "true", when `user-id` is empty, or when it has expired: creation time
//     plus `ttl` milliseconds (empty = tokens.maxTTL; a ttl above today's
//     tokens.maxTTL counts as maxTTL, so lowering the setting shortens every
//     token; an unreadable ttl is refused). A token held by two different users
//     is refused as ambiguous.
//   - Identities: a token Secret's user is its `user-id`, in the group
//     system:authenticated (its other groups are unknown, so access must be
//     granted to the user by name). A ServiceAccount's user is
//     system:serviceaccount:<ns>:<name>, in the groups the API server gives
//     ServiceAccounts. X-Auth-Request-Email is sent only when the user-id is an
//     email address (a ServiceAccount's dev.okteto.com/external-id is a label
//     value and cannot be one). Otherwise the header is absent, and
//     ingress-nginx then drops whatever the client sent under that name.
//   - Access to NS is a SubjectAccessReview: may the user `get services` in NS.
//     A namespace absent from the auth service's Namespace cache (metadata
//     only; RBAC list/watch namespaces) is refused (403) without a review; a
//     namespace created a moment ago may be refused until the cache sees it.
//     Decisions, refusals as well as grants, are cached per user, groups and
//     namespace for --access-cache-ttl (default 10s) in an LRU of 100000, so
//     revoking or granting access takes effect within that time; errors are
//     not cached. Concurrent identical checks share one review.
//   - New decisions cannot starve the others. At most 16 reviews run at
//     once, and one user holds at most 4 of these slots (fair share rather
//     than first come: one token holder's flood queues against itself, and
//     the client-side rate limit sees at most 4 of its reviews waiting ahead
//     of anyone else's). A review has 2 seconds, waiting for its slots
//     included; a check that does not get a slot in time answers 500 "the
//     access check is busy" (never an opening). A user refused in more than
//     30 distinct namespaces within a minute (unknown namespaces count) gets
//     no new decision until that minute ends: 403 without a review (not 429,
//     which ingress-nginx would turn into a 500); decisions already cached
//     are still answered. This limit is per user, in the access layer; the
//     failure limit below is per client address and counts only refused
//     credentials. Cached decisions and unknown namespaces never wait for a
//     review (BenchmarkAccessFlood, docs/benchmarks.md).
//   - Answers: 200 with X-Auth-Request-User (and -Email); 401 without
//     credentials or with refused ones; 403 when the user may not access NS;
//     400 without a valid namespace parameter; 500 when the access check
//     itself fails or is busy (never an opening).
//   - Failures are rate limited per client: every refused credential counts
//     (a request without any does not), one failure is forgiven every 6
//     seconds, and a client with 10 unforgiven failures has its credentials
//     not even looked at (401 with Retry-After on /verify, 429 on the sign-in
//     page) until one is forgiven. An IPv6 client is its /64. The limiter
//     remembers at most 100000 clients, least recently seen first out: a
//     flood of new clients evicts the clients not heard from for longest,
//     never the whole table, so a limited client that keeps trying stays
//     limited (per replica).
//   - The client is the connection's peer, unless that peer is in
//     auth.trustedProxies (CIDRs or addresses, default none; reloaded with
//     the configuration): then it is the right-most X-Forwarded-For entry
//     that is not itself trusted, else X-Real-IP, else the peer. Trust the
//     ingress controller's pods; when authURL loops back through the
//     ingress, also the addresses it is reached from on the way back, or
//     every user shares the controller's bucket. The chart's NetworkPolicy
//     admits only the ingress controller's namespace to the service port.
//   - Metrics (a registry per Server) at --metrics-bind-address, default 0
//     (off: `devgate serve` holds :8080); the chart serves :9090:
//     devgate_auth_requests_total{path,code} and
//     devgate_auth_request_duration_seconds{path} (path is the route
//     pattern, "other" when none matches), devgate_auth_refusals_total{reason}
//     (no_credentials, bad_credentials, rate_limited, forbidden, cross_origin,
//     bad_request), devgate_auth_rate_limited_clients (a gauge: clients over
//     the limit now), devgate_auth_signins_total{method} (token) and
//     devgate_auth_invitations_accepted_total (0 until invitations exist).
//   - /auth/signin?rd=URL (alias /signin): GET shows a form for a token; POST
//     checks it like /verify (without the namespace), sets the sign-in
//     session and answers 303 to rd, or a "signed in" page without rd. rd must
//     be an absolute https URL whose host is the domain or under it, with no
//     user information, port other than 443, backslash or control character:
//     every other rd is refused with 400 (no open redirect). A POST whose
//     Origin is not https://<domain> is refused (login CSRF). A GET with rd
//     from a browser whose sign-in session is valid (and its token still
//     resolves, from the same object) skips the form and answers the same 303 with a fresh code:
//     one sign-in serves every endpoint host.
//   - Sessions never reach tenants' backends. Every endpoint host is served by
//     some tenant's backend, so a cookie with Domain=<domain> would be handed
//     to every tenant, who could replay it against another namespace's
//     endpoints. All cookies (devgate_session) are therefore host-only (no
//     Domain) with `Path=/; Secure; HttpOnly; SameSite=Lax`, and signed with
//     HMAC-SHA256 under the cookie secret with their kind first, so that no
//     kind is accepted as another.
//   - The sign-in session is set by the sign-in page on its own host, the
//     auth service's. It holds the token's digest, the UID of the object the
//     token was resolved from (its token Secret or ServiceAccount) and an
//     expiry, never the token, and /verify never accepts it.
//   - A sign-in code is added to rd as devgate_code when rd's host is not the
//     domain itself. It holds the target host, the token digest and object
//     UID, the sign-in session's expiry, a random 128-bit nonce and its own expiry, 60 seconds
//     on. /verify redeems it when it is signed, unexpired, its host is the
//     X-Original-URL's, that host is one namespace NS may have
//     (`<name>-NS.<domain>` or `NS.<domain>`), and its nonce was never
//     redeemed: nginx picks the server from an absolute request line but
//     sends the Host header as X-Original-URL, so only the namespace of the
//     Ingress's auth-url ties the host to the endpoint reached. On 200 the
//     answer sets the endpoint session, which ingress-nginx relays to the
//     browser (auth_request_set $auth_cookie; add_header Set-Cookie, which
//     without the auth-always-set-cookie annotation applies only when the
//     backend answers 2xx or 3xx). A code spent, for another host, expired or
//     forged is refused (401) and counted as a failure, like any refused
//     credential, never 500. A code reaches the backend's access log only
//     once redeemed.
//   - Redeemed nonces are kept in memory, per replica, until they expire (at
//     most 100000; beyond that the first to expire is forgotten and every
//     code expiring no later is refused). With N replicas a code can thus be
//     redeemed up to N times within its 60 seconds, each time only for its
//     host and for a user with access to the namespace; a store shared by the
//     replicas would be needed to make it strictly single-use.
//   - An endpoint session holds the token's digest and object UID, an expiry (the sign-in
//     session's, or the token's if sooner), the endpoint host and the
//     namespace. It is accepted only for that host (X-Original-URL's) and
//     that namespace (the auth-url's): presented for any other it is refused,
//     so the cookie a backend sees opens nothing elsewhere.
//   - Sessions end after --session-max-age (default 8h) or with the token,
//     whichever comes first, and every request resolves the digest again, so
//     a disabled, expired or deleted token ends its sessions at once. They
//     also end with the object they came from: a session (sign-in session,
//     endpoint session or code) whose UID is not that of an object the digest
//     now resolves from is refused (401, counted like other refusals), so
//     deleting a token Secret and creating it again with the same value does
//     not revive them; signing in again does. Domain cookies of earlier
//     versions and the s2/e2/c2 values without a UID are refused everywhere
//     (their format is no longer accepted) and expire on their own.
//   - Limits: a tenant can send a signed-in user to the sign-in page with rd
//     on the tenant's own host and so receive a code for that host, which
//     opens only that host (for that user, if they have access to its
//     namespace). A namespace whose name ends another's (`a`, `team-a`) may
//     hold hosts matching both patterns, which the namespace check of codes
//     cannot tell apart.
//   - /healthz answers 200 while the process serves; /readyz answers 200 once
//     the informer caches have synced.
//
// Nothing here logs a token, a cookie or a code: refusals are logged with the client,
// the namespace and the reason only.
package auth
