package check

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Verdicts of the text output.
const (
	VerdictAllow  = "ALLOW"
	VerdictMutate = "MUTATE" // allowed, with a non-empty patch
	VerdictDeny   = "DENY"
)

// maxRefWidth caps the kind/namespace/name column, so that one long name does
// not push every reason off the screen.
const maxRefWidth = 60

// patchSummaryOps is how many patch operations a MUTATE line lists.
const patchSummaryOps = 3

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// Verdict is ALLOW, MUTATE or DENY.
func (r *Result) Verdict() string {
	switch {
	case !r.Allowed:
		return VerdictDeny
	case len(r.Patch) > 0:
		return VerdictMutate
	default:
		return VerdictAllow
	}
}

// renderText writes one aligned line per result that keep selects (all when
// nil): the verdict, kind/namespace/name and the reasons, then the warnings
// and generated objects on indented lines.
func renderText(w io.Writer, results []Result, color bool, keep func(*Result) bool) error {
	width := 0
	for i := range results {
		if keep == nil || keep(&results[i]) {
			width = max(width, min(len(results[i].ref), maxRefWidth))
		}
	}
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	for i := range results {
		r := &results[i]
		if keep != nil && !keep(r) {
			continue
		}
		// Only paths are printed; a generated token leaves the report too.
		r.hideGenerated()
		verdict := r.Verdict()
		code := ansiGreen
		switch verdict {
		case VerdictMutate:
			code = ansiCyan
		case VerdictDeny:
			code = ansiRed
		}
		// Pad before painting: escape sequences have no width on screen.
		line := paint(code, fmt.Sprintf("%-6s", verdict)) + "  " + fmt.Sprintf("%-*s", width, r.ref)
		if reason := r.reason(); reason != "" {
			line += "  " + reason
		}
		bw.WriteString(strings.TrimRight(line, " "))
		bw.WriteByte('\n')
		for _, warning := range r.Warnings {
			bw.WriteString("  " + paint(ansiYellow, "warning:") + " " + oneLine(warning) + "\n")
		}
		for _, ref := range r.generatedRefs {
			bw.WriteString("  generates " + ref + "\n")
		}
	}
	return bw.Flush()
}

// reason is the text after kind/namespace/name: every denial of a denied
// object, the paths a mutation changes, or why nothing was checked.
func (r *Result) reason() string {
	switch r.Verdict() {
	case VerdictDeny:
		parts := make([]string, len(r.Denials))
		for i, d := range r.Denials {
			parts[i] = oneLine(d)
		}
		return strings.Join(parts, "; ")
	case VerdictMutate:
		return patchSummary(r)
	}
	if !r.handled {
		return "no policy applies"
	}
	return ""
}

// patchSummary lists the first operations of the patch, such as
// "add /metadata/annotations/devgate.dev~1endpoint, replace /spec/type".
func patchSummary(r *Result) string {
	parts := make([]string, 0, patchSummaryOps+1)
	for i, op := range r.Patch {
		if i == patchSummaryOps {
			parts = append(parts, fmt.Sprintf("and %d more", len(r.Patch)-i))
			break
		}
		parts = append(parts, op.Operation+" "+op.Path)
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps a message on its line: a value quoted in a denial may hold a
// newline (an injected nginx snippet), which would break the one-line format.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
