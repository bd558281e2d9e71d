package check

import (
	"bufio"
	"io"

	"sigs.k8s.io/yaml"
)

// toYAML renders the result's documents for -o yaml: the mutated object when
// allowed, and the generated objects. JSON is YAML, so a document that cannot
// be converted (there should be none) is written as JSON rather than lost.
func (r *Result) toYAML() {
	if !r.Allowed {
		return
	}
	r.yamlObject = jsonToYAML(r.Object)
	for _, g := range r.Generated {
		r.yamlGenerated = append(r.yamlGenerated, jsonToYAML(g))
	}
}

func jsonToYAML(doc []byte) []byte {
	y, err := yaml.JSONToYAML(doc)
	if err != nil {
		return append(append([]byte(nil), doc...), '\n')
	}
	return y
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
