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
//     the limit now), devgate_auth_signins_total{method} (token, oidc),
//     devgate_auth_connectors{state} (valid, invalid) and
//     devgate_auth_invitations_accepted_total.
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
//   - Users (SPEC 7.2): a user is a ServiceAccount in the users namespace
//     (auth.usersNamespace, default devgate's own, --namespace; read at
//     start) named after the user, labelled dev.okteto.com/external-id: <user>
//     and dev.okteto.com/token. When the service starts and no user `admin`
//     exists, it creates it with a generated token (tokens.GenerateToken: 40
//     characters [A-Za-z0-9] from crypto/rand, without modulo bias) and logs the kubectl
//     line that reads it (TokenCommand), never the token; an admin user
//     deleted while the service runs is recreated, with a new token, at the
//     next start. An admin is whoever may `create secrets` in the users
//     namespace (the chart's RoleBinding: the admin user and
//     tokens.adminGroups).
//   - Invitations: a Secret of type devgate.dev/invitation in the users
//     namespace named after the invited user (a DNS-1123 label that is not a
//     user yet), with `code` (32 random bytes, base64url: 43 characters),
//     `namespaces` (comma-separated, optional), `expires` (RFC 3339; absent:
//     creation + 7 days; unreadable: expired) and the annotation
//     devgate.dev/invited-by. `devgate invite` creates, lists and revokes them
//     with the caller's own credentials (a namespace that does not exist is
//     refused); the link is <auth.publicURL>/invite/<code>. The informer cache
//     keeps the code's SHA-256 digest, never the code; an invitation created
//     a moment ago is unknown (404) until the cache sees it.
//   - /auth/invite/CODE (alias /invite/CODE): a code of the wrong length or
//     alphabet, or one no invitation has, is 404 and counts as a failure of
//     the client (rate limited like refused credentials, 429 beyond); an
//     expired invitation, one being accepted, and a code already used are 410.
//     Neither answer says whether the user exists. A used code is known by
//     the annotation devgate.dev/invitation-sha256 of the user's
//     ServiceAccount (and, for the moment before the cache sees it, by this
//     replica's memory). GET shows "Join as USER" with the form and consumes
//     nothing. POST needs, besides a valid code, an Origin that is
//     auth.publicURL's origin when present and the per-form token (field
//     `csrf` or header X-CSRF-Token: an HMAC under the cookie secret of the
//     code's digest); else 403. It claims the invitation by updating it with
//     the annotation devgate.dev/claimed-at under the resourceVersion just
//     read, so that of concurrent POSTs exactly one wins and the others get
//     410; creates the ServiceAccount with a generated token (or finds the one
//     a half-done attempt created with this code's digest), the RoleBinding
//     devgate-member-<user> to the ClusterRole devgate-member in each
//     namespace, then deletes the invitation with its UID and resourceVersion
//     as preconditions, waits (up to 5s) until the token cache holds the new
//     token, and shows the welcome page: the token, to store it securely, how
//     to sign in, and the kubectl line. A failed step releases the claim and
//     records devgate.dev/last-error on the invitation, which is kept: the
//     answer says what failed (403 when RBAC forbade it, 409 for a namespace
//     that does not exist or a user that exists, 500 otherwise), and the next
//     POST resumes. A claim older than 2 minutes (its replica died) may be
//     taken again. With Accept: application/json, GET answers
//     {"user","namespaces","csrf"}, POST {"user","token","namespaces"} and
//     errors {"error"}. The token appears on the welcome answer only: never
//     in a log, metric or URL.
//   - /auth/invitations (alias /invitations), GET: the pending invitations
//     with their links ("View Invite Link"; HTML, or JSON), for admins only.
//     The credential is a bearer token or the sign-in session: none is 401,
//     a refused one 401 (counted as a failure), a non-admin 403 (an
//     AdminReviewer SubjectAccessReview: create secrets in the users
//     namespace, not cached).
//   - auth.tokenSignIn: false hides the sign-in page's token form and refuses
//     its POST (403).
//   - OIDC connectors: every Secret of type devgate.dev/oidc-connector in
//     devgate's own namespace (--namespace), watched, is checked with the
//     policy the webhook runs (tokens.OIDCConnectorPolicy), then its optional
//     keys: ignore_email_verified true or false, no prefix beginning with
//     system:, a Secret name that is a DNS-1123 label (the connector's path
//     segment and the name sessions carry). An invalid one is skipped and
//     logged once per resourceVersion, never its values. Each valid one is a
//     "Sign in with <name>" link on the sign-in page (name, else the
//     Secret's name), with or without the token form.
//   - /auth/oidc/<connector>/start?rd=URL (alias /oidc/...): rd as for the
//     sign-in page (else 400); the provider's discovery document is read
//     again (10s; unreachable: 502 naming the connector), then 302 to its
//     authorization endpoint with a random state and nonce and a PKCE S256
//     challenge, scopes `scopes` plus openid. The state cookie
//     devgate_oidc_<state> (host-only, Path=/, Secure, HttpOnly,
//     SameSite=Lax, 10 minutes) holds connector, state, nonce, verifier and
//     rd, signed; each start has its own, so sign-ins started in two tabs
//     both complete.
//   - /auth/callback (alias /callback) is the connectors' redirect_uri. It
//     clears the state cookie whatever happens, and refuses, each with a
//     page: no valid state cookie (400), a state other than the cookie's
//     (400, state mismatch), error=access_denied (403; other errors 400), no
//     code (400), a code the provider refuses at the token endpoint, used
//     already or expired (400), a provider that cannot be reached (502,
//     naming the connector), an ID token that go-oidc does not verify:
//     signature from the provider's JWKS, issuer, audience = client_id,
//     expiry (401), a nonce other than the cookie's (400, nonce mismatch),
//     with username_claim email, email_verified not true unless
//     ignore_email_verified (403), no username claim (403), a username or
//     group beginning with system: after the prefixes (403), a session too
//     large for a cookie (400: narrow groups_claim). The user is
//     username_prefix + the username claim; the groups groups_prefix + each
//     string of the groups claim (a string or a list).
//   - A connector's sign-in session is "os1" (user, groups, connector,
//     expiry = now + --session-max-age), its code "oc1" and its endpoint
//     session "oe1", exactly as a token's s3, c3 and e3 (same host binding,
//     single-use codes, namespace check), but carrying the identity instead
//     of a token digest. /verify reviews access for that user with its groups
//     and system:authenticated, through the same access cache; the session
//     ends with its expiry or when its connector is no longer valid.
//   - /auth/whoami (alias /whoami): the sign-in session's user, groups,
//     method (token or the connector's name) and end; 401 without one. JSON
//     with Accept: application/json. /auth/signout: GET shows the same page
//     with a sign-out form; POST (Origin of the domain when sent, the form's
//     token, an HMAC of the session) clears the sign-in session. Endpoint
//     sessions, on other hosts, end on their own.
//   - /healthz answers 200 while the process serves; /readyz answers 200 once
//     the informer caches have synced and the admin user was ensured (a
//     failure to ensure it is logged, not fatal).
//
// Nothing here logs a token, a cookie or a code (invitation codes included): refusals are logged with the client,
// the namespace and the reason only.
package auth
