// Package faults holds devgate's fault-injection tests: the serving
// certificate rotated under load, an invalid configuration, the API server
// gone and back, the leader killed, the controller restarted mid-reconcile,
// and the security properties of the running server. Each test starts its
// own local control plane (internal/controlplane) and devgate servers
// (internal/server), so a fault in one never leaks into another.
package faults
