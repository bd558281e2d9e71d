package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// StdinName is how error messages name standard input (`-f -`).
const StdinName = "stdin"

// InputError is a file or document that cannot be read as Kubernetes objects:
// `devgate check` exits with status 2. It names the file and the document's
// position so that a CI log points at the line to fix.
type InputError struct {
	Source   string // the file, or "stdin"
	Document int    // 1-based position of the document in the file; 0 for the file as a whole
	Line     int    // first line of the document, when known
	Item     string // the List item, such as "items[2]", when the object came from a List
	Err      error
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Document > 0 {
		fmt.Fprintf(&b, ": document %d", e.Document)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
	}
	if e.Item != "" {
		b.WriteString(": " + e.Item)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }

// position is where a document came from.
type position struct {
	source   string
	document int
	line     int
	item     string
}

func (p position) errorf(format string, args ...any) *InputError {
	return &InputError{Source: p.source, Document: p.document, Line: p.line, Item: p.item, Err: fmt.Errorf(format, args...)}
}

// manifestExtensions are the files a directory contributes, as with kubectl -R.
var manifestExtensions = []string{".yaml", ".yml", ".json"}

// reader reads -f and --old paths. stdin can be read once only: a second `-`
// would silently see an empty stream, so it is refused instead.
type reader struct {
	stdin     io.Reader
	stdinUsed bool
	namespace string
	workers   int
}

// readPaths reads every object of every path, in the order given; a directory
// contributes its manifests in lexical order of their paths.
func (r *reader) readPaths(paths []string) ([]*object, error) {
	var objs []*object
	for _, p := range paths {
		files, err := r.expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := r.readFile(f)
			if err != nil {
				return nil, err
			}
			got, err := readDocuments(displayName(f), data, r.namespace, r.workers)
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
	}
	return objs, nil
}

func displayName(path string) string {
	if path == "-" {
		return StdinName
	}
	return path
}

// expand turns a path into the files it stands for.
func (r *reader) expand(path string) ([]string, error) {
	if path == "-" {
		if r.stdinUsed {
			return nil, &InputError{Source: StdinName, Err: errors.New("standard input (-) can be given only once")}
		}
		r.stdinUsed = true
		return []string{"-"}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Source: path, Err: unwrapPathError(err)}
	}
	if !info.IsDir() {
		// A file named explicitly is read whatever its extension.
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{Source: p, Err: unwrapPathError(err)}
		}
		if !d.IsDir() && slices.Contains(manifestExtensions, strings.ToLower(filepath.Ext(p))) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &InputError{Source: path, Err: errors.New("directory holds no *.yaml, *.yml or *.json file")}
	}
	slices.Sort(files)
	return files, nil
}

func (r *reader) readFile(path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		if r.stdin == nil {
			return nil, nil
		}
		data, err = io.ReadAll(r.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &InputError{Source: displayName(path), Err: unwrapPathError(err)}
	}
	return data, nil
}

// unwrapPathError drops the path from an *fs.PathError: InputError names it already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// readDocuments reads the objects of one file: a stream of JSON values, or
// multi-document YAML. Empty documents are skipped; Lists are expanded.
// namespace is the default namespace of objects that name none; workers
// bounds how many YAML documents are decoded at once.
func readDocuments(source string, data []byte, namespace string, workers int) ([]*object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if looksLikeJSON(source, data) {
		objs, err := readJSONStream(source, data, namespace)
		if err == nil || strings.EqualFold(filepath.Ext(source), ".json") {
			return objs, err
		}
		// A .yaml file may start with a YAML flow mapping, which is not JSON:
		// read it as YAML, and report the YAML error if that fails too.
	}
	return readYAMLStream(source, data, namespace, workers)
}

// looksLikeJSON sniffs the stream as the API machinery does: a .json file, or
// content whose first character opens a JSON object.
func looksLikeJSON(source string, data []byte) bool {
	if strings.EqualFold(filepath.Ext(source), ".json") {
		return true
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// readJSONStream reads concatenated JSON values, each one document.
func readJSONStream(source string, data []byte, namespace string) ([]*object, error) {
	var objs []*object
	dec := json.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		start := int(dec.InputOffset())
		start += len(data[start:]) - len(bytes.TrimLeft(data[start:], " \t\r\n"))
		pos := position{source: source, document: doc, line: lineAt(data, start)}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, pos.errorf("line %d: %v", lineAt(data, int(syn.Offset)), err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, pos.errorf("unexpected end of JSON input")
			}
			return nil, pos.errorf("%v", err)
		}
		got, err := decodeDocument(pos, raw, namespace)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// readYAMLStream reads multi-document YAML. Documents are numbered as a person
// counts them: a part between `---` separators that holds only comments or
// blank lines (a licence header, a trailing separator) is not a document.
//
// Splitting is cheap and sequential; decoding YAML is the expensive part of
// reading, so the documents are decoded in parallel and joined in order.
func readYAMLStream(source string, data []byte, namespace string, workers int) ([]*object, error) {
	chunks, err := splitYAML(data)
	if err != nil {
		return nil, position{source: source, document: err.document, line: err.line}.errorf("%v", err.err)
	}
	got := make([][]*object, len(chunks))
	errs := make([]error, len(chunks))
	forEach(len(chunks), workers, func(i int) {
		pos := position{source: source, document: i + 1, line: chunks[i].line}
		// Strict: duplicate keys are an error, as with kubectl apply's default
		// strict field validation; silently keeping the last value could hide an
		// annotation from the reviewer.
		raw, err := yaml.YAMLToJSONStrict(chunks[i].text)
		if err != nil {
			errs[i] = pos.errorf("%s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
			return
		}
		got[i], errs[i] = decodeDocument(pos, raw, namespace)
	})
	// The first error in document order, whichever worker found it first.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(got...), nil
}

// yamlChunk is one document's text and the line it starts on.
type yamlChunk struct {
	text []byte
	line int
}

// splitYAML cuts a stream into documents with the API machinery's YAML
// reader, the one kubectl uses, so that a stream devgate accepts is one
// kubectl accepts, separator by separator. The reader hands back each
// document's lines as they are in data (a separator that follows another one
// included, and a newline added to a last line without one); finding them in
// data gives the line each begins on. Parts with nothing but blank lines,
// comments and separators are dropped.
func splitYAML(data []byte) ([]yamlChunk, *yamlSplitError) {
	var chunks []yamlChunk
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	// cursor is where the last document ended, on line; both only move
	// forward, so finding every document costs one pass over data.
	cursor, line := 0, 1
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			return chunks, nil
		}
		if err != nil {
			bad := badSeparator(data, cursor)
			return nil, &yamlSplitError{document: len(chunks) + 1, line: line + bytes.Count(data[cursor:bad], newline), err: err}
		}
		start, skipped := locate(data, cursor, doc)
		if start >= 0 {
			line += skipped
			cursor = min(start+len(doc), len(data))
		}
		// The document starts at its first line of content, so that the line
		// reported is where the object begins.
		docLine := line
		for off := 0; off < len(doc); off = nextLine(doc, off) {
			text := bytes.TrimSpace(doc[off:nextLine(doc, off)])
			if len(text) == 0 || text[0] == '#' || bytes.HasPrefix(text, []byte("---")) {
				docLine++
				continue
			}
			chunk := yamlChunk{text: doc[off:]}
			if start >= 0 {
				chunk.line = docLine
			}
			chunks = append(chunks, chunk)
			break
		}
		if start >= 0 {
			line += bytes.Count(data[start:cursor], newline)
		}
	}
}

var newline = []byte("\n")

// locate is the offset of doc in data at or after the line at cursor, and
// the number of lines before it from cursor: only separator lines lie
// between one document and the next. The offset is -1 if doc is not there,
// which the reader does not do; the document then has no line.
func locate(data []byte, cursor int, doc []byte) (int, int) {
	skipped := 0
	for off := cursor; off < len(data); off = nextLine(data, off) {
		rest := data[off:]
		if bytes.HasPrefix(rest, doc) || (bytes.HasSuffix(doc, newline) && bytes.Equal(rest, doc[:len(doc)-1])) {
			return off, skipped
		}
		skipped++
	}
	return -1, 0
}

// nextLine is the offset of the line after the one at off.
func nextLine(data []byte, off int) int {
	if end := bytes.IndexByte(data[off:], '\n'); end >= 0 {
		return off + end + 1
	}
	return len(data)
}

// badSeparator is the offset of the first line at or after cursor that
// starts like a separator and goes on with content, which the reader refuses.
func badSeparator(data []byte, cursor int) int {
	off := cursor
	for ; off < len(data); off = nextLine(data, off) {
		if rest, ok := bytes.CutPrefix(data[off:nextLine(data, off)], []byte("---")); ok {
			if rest = bytes.TrimSpace(rest); len(rest) > 0 && rest[0] != '#' {
				break
			}
		}
	}
	return off
}

// yamlSplitError is a stream the YAML reader refuses, such as a separator
// followed by content: line is where it stopped.
type yamlSplitError struct {
	document, line int
	err            error
}
