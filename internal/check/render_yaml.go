package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"

	yamlv2 "go.yaml.in/yaml/v2"
)

// toYAML renders the result's documents for -o yaml: the mutated object when
// allowed, and the generated objects.
func (r *Result) toYAML() {
	r.hideGenerated()
	if !r.Allowed {
		return
	}
	r.yamlObject = jsonToYAML(r.Object)
	for _, g := range r.Generated {
		r.yamlGenerated = append(r.yamlGenerated, jsonToYAML(g))
	}
}

// jsonToYAML converts a JSON object to block YAML. It produces what
// sigs.k8s.io/yaml.JSONToYAML does (sorted keys, the same YAML encoder and so
// the same quoting) without running the YAML parser over the JSON, which costs
// most of the time of -o yaml on large inputs. JSON is YAML, so a document that
// cannot be converted (there should be none) is written as JSON rather than lost.
func jsonToYAML(doc []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		if y, err := yamlv2.Marshal(yamlValue(v)); err == nil {
			return y
		}
	}
	return append(append([]byte(nil), doc...), '\n')
}

// yamlValue turns the numbers of a decoded JSON value into Go numbers, in
// place: a json.Number is a string to the YAML encoder, which would quote it.
func yamlValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = yamlValue(e)
		}
	case []any:
		for i, e := range v {
			v[i] = yamlValue(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
		return string(v)
	}
	return v
}

// renderYAML writes the admitted objects as mutated and then the generated
// objects as one multi-document stream for `kubectl apply -f -`. Denied
// objects are left out.
func renderYAML(w io.Writer, report *Report) error {
	bw := bufio.NewWriter(w)
	first := true
	write := func(doc []byte) {
		if !first {
			bw.WriteString("---\n")
		}
		first = false
		bw.Write(doc)
	}
	for i := range report.Results {
		if r := &report.Results[i]; r.Allowed {
			write(r.yamlObject)
		}
	}
	for i := range report.Results {
		for _, doc := range report.Results[i].yamlGenerated {
			write(doc)
		}
	}
	return bw.Flush()
}
