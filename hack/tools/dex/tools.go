//go:build tools

// Package tools pins the Dex OpenID Connect provider that devgate's auth e2e
// tests sign in through.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
