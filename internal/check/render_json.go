package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// The -o json document is what json.Encoder with two-space indentation writes
// for a Report; it is assembled from results the workers encoded (toJSON), so
// that encoding large reports runs in parallel.
const (
	jsonIndent       = "  "
	jsonResultPrefix = jsonIndent + jsonIndent // a result sits in "results"
)

// toJSON encodes the result as an element of the results array.
func (r *Result) toJSON() error {
	r.hideGenerated()
	b, err := encodeJSON(r, jsonResultPrefix)
	r.jsonDoc = b
	return err
}

// encodeJSON encodes v indented, its lines after the first prefixed: the
// layout of a value nested in an indented document.
func encodeJSON(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Messages quote hosts and URLs: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, jsonIndent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// renderJSON writes the report as one indented JSON document:
// {"results":[...],"summary":{...}}.
func renderJSON(w io.Writer, report *Report) error {
	summary, err := encodeJSON(report.Summary, jsonIndent)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n" + jsonIndent + `"results": [`)
	for i := range report.Results {
		r := &report.Results[i]
		if r.jsonDoc == nil {
			if err := r.toJSON(); err != nil {
				return err
			}
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n" + jsonResultPrefix)
		bw.Write(r.jsonDoc)
	}
	if len(report.Results) > 0 {
		bw.WriteString("\n" + jsonIndent)
	}
	bw.WriteString("],\n" + jsonIndent + `"summary": `)
	bw.Write(summary)
	bw.WriteString("\n}\n")
	return bw.Flush()
}
