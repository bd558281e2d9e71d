package check

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// render writes the report in opts.Output.
func render(opts Options, report *Report) error {
	switch opts.Output {
	case OutputJSON:
		return renderJSON(opts.Stdout, report)
	case OutputYAML:
		if err := renderYAML(opts.Stdout, report); err != nil {
			return err
		}
		// Denials and warnings go beside the stream, which stays appliable.
		if err := renderText(opts.Stderr, report.Results, false, func(r *Result) bool {
			return !r.Allowed || len(r.Warnings) > 0
		}); err != nil {
			return err
		}
		return renderSummary(opts.Stderr, report.Summary)
	default:
		if err := renderText(opts.Stdout, report.Results, opts.Color, nil); err != nil {
			return err
		}
		// On stderr, so that stdout holds exactly one line per object and its
		// indented details, for grep and friends.
		return renderSummary(opts.Stderr, report.Summary)
	}
}

func renderSummary(w io.Writer, s Summary) error {
	_, err := fmt.Fprintf(w, "%d objects: %d allowed (%d mutated), %d denied; %d generated\n",
		s.Objects, s.Allowed, s.Mutated, s.Denied, s.Generated)
	return err
}

// UseColor reports whether text output to w should be coloured: only on a
// terminal, and never when NO_COLOR is set to anything but "" (no-color.org).
func UseColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
