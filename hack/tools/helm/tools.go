//go:build tools

// Package tools pins the helm CLI used by devgate's e2e tests.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
