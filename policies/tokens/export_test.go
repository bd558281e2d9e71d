package tokens

import "io"

// SetRandReader makes generated tokens come from r until restore is called,
// so that tests can predict them. Tests that use it must not run in parallel
// with others that generate tokens.
func SetRandReader(r io.Reader) (restore func()) {
	old := randReader
	randReader = r
	return func() { randReader = old }
}
