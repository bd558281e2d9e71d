package check

import (
	"encoding/json"
	"io"
)

// renderJSON writes the report as one indented JSON document:
// {"results":[...],"summary":{...}}.
func renderJSON(w io.Writer, report *Report) error {
	enc := json.NewEncoder(w)
	// Messages quote hosts and URLs: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}
