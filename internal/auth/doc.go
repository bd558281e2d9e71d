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
//     the `Authorization: Bearer <token>` header, else the session cookie. The
//     bearer token wins when both are sent.
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
//     Answers are cached per user and namespace for --access-cache-ttl
//     (default 10s), so revoking access takes effect within that time; errors
//     are not cached.
//   - Answers: 200 with X-Auth-Request-User (and -Email); 401 without
//     credentials or with refused ones; 403 when the user may not access NS;
//     400 without a valid namespace parameter; 500 when the access check
//     itself fails (never an opening).
//   - Failures are rate limited per client: every refused credential counts
//     (a request without any does not), one failure is forgiven every 6
//     seconds, and a client with 10 unforgiven failures has its credentials
//     not even looked at (401 with Retry-After on /verify, 429 on the sign-in
//     page) until one is forgiven. The client is the address in X-Real-IP, which
//     ingress-nginx overwrites with the peer it sees, else the connection's
//     peer: the service must only be reachable through the ingress controller.
//   - /auth/signin?rd=URL (alias /signin): GET shows a form for a token; POST
//     checks it like /verify (without the namespace), sets the session cookie
//     and answers 303 to rd, or a "signed in" page without rd. rd must be an
//     absolute https URL whose host is the domain or under it, with no user
//     information, port other than 443, backslash or control character: every
//     other rd is refused with 400 (no open redirect). A POST whose Origin is
//     not https://<domain> is refused (login CSRF).
//   - The session cookie (devgate_session) is `Domain=<domain>; Path=/;
//     Secure; HttpOnly; SameSite=Lax`. It holds the token's digest and an
//     expiry, signed with HMAC-SHA256 under the cookie secret; it never holds
//     the token. It expires after --session-max-age (default 8h) or with the
//     token, whichever comes first, and every request resolves the digest
//     again, so a disabled, expired or deleted token ends its sessions at once.
//     Being a domain cookie, it is sent to every endpoint under the domain;
//     the backends behind them see it too.
//   - /healthz answers 200 while the process serves; /readyz answers 200 once
//     the informer caches have synced.
//
// Nothing here logs a token or a cookie: refusals are logged with the client,
// the namespace and the reason only.
package auth
