package all

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's rule table from the policies' RULES.md files")

// rulesDocs are the policies' own rule documents, in the order the README shows them.
var rulesDocs = []string{
	"../service/RULES.md",
	"../ingress/RULES.md",
	"../httproute/RULES.md",
	"../namespace/RULES.md",
	"../tokens/RULES.md",
}

const (
	rulesBegin = "<!-- rules:begin (generated from policies/*/RULES.md by `make readme`) -->\n"
	rulesEnd   = "<!-- rules:end -->\n"
)

// TestReadmeRuleTable keeps the README's rule table equal to the documents
// next to the policies, so there is one place to edit a rule's description.
func TestReadmeRuleTable(t *testing.T) {
	var want bytes.Buffer
	for _, path := range rulesDocs {
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Demote headings by two levels: the README's section is "## Rules".
		for _, line := range strings.SplitAfter(string(doc), "\n") {
			if strings.HasPrefix(line, "#") {
				line = "##" + line
			}
			want.WriteString(line)
		}
		want.WriteString("\n")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(readme, []byte(rulesBegin))
	end := bytes.Index(readme, []byte(rulesEnd))
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q and %q", rulesBegin, rulesEnd)
	}
	got := readme[begin+len(rulesBegin) : end]
	if bytes.Equal(got, want.Bytes()) {
		return
	}
	if !*updateReadme {
		t.Fatal("README.md's rule table is out of date: run `make readme`")
	}
	updated := append(append(append([]byte{}, readme[:begin+len(rulesBegin)]...), want.Bytes()...), readme[end:]...)
	if err := os.WriteFile("../../README.md", updated, 0o644); err != nil {
		t.Fatal(err)
	}
}
