// Package check is `devgate check` (SPEC 6): it reads manifests, runs every
// object through the same engine the webhook runs (mutation, then validation),
// shows the objects the controller would generate, and renders the outcome as
// text, YAML or JSON. It never talks to a cluster and never writes its inputs.
package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"

	"gomodules.xyz/jsonpatch/v2"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/engine"
)

// Output formats of -o.
const (
	OutputText = "text"
	OutputYAML = "yaml"
	OutputJSON = "json"
)

// Exit statuses of `devgate check`.
const (
	ExitAllowed  = 0 // every object allowed
	ExitDenied   = 1 // at least one object denied
	ExitBadInput = 2 // bad usage or unreadable input
)

// ErrUsage marks invalid options: exit status 2, like an InputError.
var ErrUsage = errors.New("invalid usage")

// Options is one `devgate check` run.
type Options struct {
	// Filenames are the -f paths: files, directories or "-" for Stdin.
	Filenames []string
	// Old are the --old paths: previous versions, making matching objects UPDATEs.
	Old []string
	// Namespace is given to namespaced objects that name none; "" means "default".
	Namespace string
	// User is the requester (--as, --as-group).
	User authenticationv1.UserInfo
	// Config is the devgate configuration; nil means config.Default().
	Config *config.Config
	// Engine runs the policies; nil means all.Engine(). Tests give their own.
	Engine *engine.Engine
	// Output is OutputText (the default when empty), OutputYAML or OutputJSON.
	Output string
	// Color colours the text output (see UseColor).
	Color bool
	// Stdin is read for "-"; Stdout gets the output; Stderr gets denials and
	// the summary of the yaml and text outputs. Nil writers discard.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Workers bounds how many objects are checked at once; 0 means GOMAXPROCS.
	// The webhook serves requests concurrently, so policies are safe for it.
	Workers int
}

// Report is the outcome of a run; it is also the -o json document.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`
}

// ExitCode is the exit status for the report: ExitDenied if any object is denied.
func (r *Report) ExitCode() int {
	if r.Summary.Denied > 0 {
		return ExitDenied
	}
	return ExitAllowed
}

// Result is the outcome for one object. Arrays are never nil, so that the JSON
// output has [] rather than null.
type Result struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Namespace  string             `json:"namespace"`
	Name       string             `json:"name"`
	Operation  policies.Operation `json:"operation"`
	Allowed    bool               `json:"allowed"`
	Denials    []string           `json:"denials"`
	// Causes are the denials as the API server's status lists them: one per
	// denial, in the same order, with the field, the type and the detail.
	Causes   []Cause               `json:"causes"`
	Warnings []string              `json:"warnings"`
	Patch    []jsonpatch.Operation `json:"patch"`
	// Object is the object after mutation, as written in the manifest with the
	// patch applied. It is filled for the yaml and json outputs only.
	Object json.RawMessage `json:"object"`
	// Generated are the objects the controller would create for an allowed
	// object (the Ingress of a Service), filled for the yaml and json outputs.
	Generated []json.RawMessage `json:"generated"`

	// ref is kind/namespace/name for the text output.
	ref string
	// generatedRefs name the generated objects, for the text output.
	generatedRefs []string
	// handled is false when no policy looked at the object.
	handled bool
	// yamlObject and yamlGenerated are the -o yaml documents, rendered by the
	// workers so that the conversion runs in parallel.
	yamlObject    []byte
	yamlGenerated [][]byte
	// jsonDoc is the result in the -o json document, encoded by the workers.
	jsonDoc []byte
}

// Cause is one denial taken apart. Field, Type and Message are what the
// webhook puts in the API server's details.causes (field, reason, message);
// Detail is the rule's own words, without the type and the value.
type Cause struct {
	Field   string `json:"field"`
	Type    string `json:"type"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

// Mutated reports whether the object was allowed with a non-empty patch.
func (r *Result) Mutated() bool { return r.Allowed && len(r.Patch) > 0 }

// Summary counts the results.
type Summary struct {
	Objects   int `json:"objects"`
	Allowed   int `json:"allowed"`
	Denied    int `json:"denied"`
	Mutated   int `json:"mutated"`
	Generated int `json:"generated"`
}

// Run checks the objects of opts.Filenames and writes the output. The error is
// an *InputError or wraps ErrUsage for bad input or usage (exit status 2);
// any other error is a failure to write the output. Denials are not errors:
// see Report.ExitCode.
func Run(opts Options) (*Report, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	rd := &reader{stdin: opts.Stdin, namespace: opts.Namespace, workers: opts.Workers}
	objs, err := rd.readPaths(opts.Filenames)
	if err != nil {
		return nil, err
	}
	olds, err := rd.readPaths(opts.Old)
	if err != nil {
		return nil, err
	}
	report := checkAll(opts, objs, olds)
	if err := render(opts, report); err != nil {
		return report, fmt.Errorf("writing the output: %w", err)
	}
	return report, nil
}

func (opts *Options) setDefaults() error {
	if len(opts.Filenames) == 0 {
		return fmt.Errorf("%w: no input: give manifests with -f FILE, -f DIR or -f -", ErrUsage)
	}
	switch opts.Output {
	case "":
		opts.Output = OutputText
	case OutputText, OutputYAML, OutputJSON:
	default:
		return fmt.Errorf("%w: unknown output format %q: use text, yaml or json", ErrUsage, opts.Output)
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Config == nil {
		opts.Config = config.Default()
	}
	if opts.Engine == nil {
		opts.Engine = all.Engine()
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// checkAll runs the engine on objs, with olds as their previous versions, in
// parallel, keeping the input order in the report.
func checkAll(opts Options, objs, olds []*object) *Report {
	c := newChecker(opts, olds, objs)
	results := make([]Result, len(objs))
	forEach(len(objs), opts.Workers, func(i int) { results[i] = c.check(objs[i]) })
	report := &Report{Results: results}
	for i := range results {
		r := &results[i]
		report.Summary.Objects++
		if r.Allowed {
			report.Summary.Allowed++
		} else {
			report.Summary.Denied++
		}
		if r.Mutated() {
			report.Summary.Mutated++
		}
		report.Summary.Generated += len(r.generatedRefs)
	}
	return report
}

// checker holds what every object's check shares; it is read-only once built.
type checker struct {
	engine     *engine.Engine
	cfg        *config.Config
	user       authenticationv1.UserInfo
	lookup     policies.Lookup
	old        map[string]*object
	generators map[schema.GroupVersionKind][]policies.Generator
	// anyKind are generators that declare no rule: they see every object.
	anyKind []policies.Generator
	output  string
}

func newChecker(opts Options, olds, objs []*object) *checker {
	c := &checker{
		engine:     opts.Engine,
		cfg:        opts.Config,
		user:       opts.User,
		lookup:     newLookup(olds, objs, opts.Config),
		old:        make(map[string]*object, len(olds)),
		generators: map[schema.GroupVersionKind][]policies.Generator{},
		output:     opts.Output,
	}
	for _, o := range olds {
		if k := o.key(); k != "" {
			c.old[k] = o
		}
	}
	// A generator is asked only about the kinds its policy declares, so that
	// it is never handed a type it does not expect.
	for _, p := range opts.Engine.Policies() {
		g, ok := p.(policies.Generator)
		if !ok {
			continue
		}
		rules := p.Handles()
		if len(rules) == 0 {
			c.anyKind = append(c.anyKind, g)
		}
		seen := map[schema.GroupVersionKind]bool{}
		for _, r := range rules {
			if !seen[r.GroupVersionKind] {
				seen[r.GroupVersionKind] = true
				c.generators[r.GroupVersionKind] = append(c.generators[r.GroupVersionKind], g)
			}
		}
	}
	return c
}

// check admits one object and renders what the output needs of it.
func (c *checker) check(o *object) Result {
	in := engine.Input{
		Operation: policies.Create,
		Kind:      o.gvk,
		Namespace: o.namespace,
		Object:    o.raw,
		User:      c.user,
	}
	if k := o.key(); k != "" {
		if old := c.old[k]; old != nil {
			in.Operation, in.OldObject = policies.Update, old.raw
		}
	}
	out := c.engine.Admit(in, c.cfg, c.lookup)
	r := Result{
		APIVersion: o.gvk.GroupVersion().String(),
		Kind:       o.gvk.Kind,
		Namespace:  o.namespace,
		Name:       o.name,
		Operation:  in.Operation,
		Allowed:    out.Allowed(),
		Denials:    make([]string, 0, len(out.Denials)),
		Causes:     make([]Cause, 0, len(out.Denials)),
		Warnings:   append(make([]string, 0, len(out.Warnings)), out.Warnings...),
		Patch:      out.Patch,
		Generated:  []json.RawMessage{},
		ref:        o.ref(),
		handled:    out.Handled,
	}
	if r.Patch == nil {
		r.Patch = []jsonpatch.Operation{}
	}
	for _, d := range out.Denials {
		r.Denials = append(r.Denials, d.Error())
		r.Causes = append(r.Causes, Cause{Field: d.Field, Type: string(d.Type), Detail: d.Detail, Message: d.ErrorBody()})
	}
	wantObjects := c.output != OutputText
	if wantObjects {
		r.Object = c.renderObject(o, &out)
	}
	if r.Allowed && out.Object != nil && c.cfg.Managed(o.namespace) {
		c.generate(&r, &out, wantObjects)
	}
	switch c.output {
	case OutputYAML:
		r.toYAML()
	case OutputJSON:
		// An error here cannot happen with these types; renderJSON retries
		// and reports it should it ever.
		_ = r.toJSON()
	}
	return r
}

// renderObject is the object after mutation: the manifest's JSON with the
// default namespace written in and the engine's patch applied.
func (c *checker) renderObject(o *object, out *engine.Output) json.RawMessage {
	ops := out.Patch
	if o.namespaceDefaulted {
		// Written in, so that `check -o yaml | kubectl apply -f -` lands the
		// objects in the namespace they were checked for (their hosts name it).
		ops = append([]jsonpatch.Operation{jsonpatch.NewOperation("add", "/metadata/namespace", o.namespace)}, ops...)
	}
	doc, err := applyPatch(o.raw, ops)
	if err == nil {
		return doc
	}
	// The patch is computed on the typed object; should it not apply to the
	// manifest as written, the typed object itself is the mutated object.
	if out.Object != nil {
		if doc, _, err := renderTyped(out.Object, false); err == nil {
			return doc
		}
	}
	return o.raw
}

// generate asks the generators for the objects the controller would create.
// A generator's error is a warning: the cluster would still admit the object.
func (c *checker) generate(r *Result, out *engine.Output, render bool) {
	gens := slices.Concat(c.generators[out.Object.GetObjectKind().GroupVersionKind()], c.anyKind)
	for _, g := range gens {
		objs, err := g.Generate(out.Object, c.cfg)
		if err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: cannot generate: %v", g.Name(), err))
			continue
		}
		for _, obj := range objs {
			doc, gvk, err := renderTyped(obj, true)
			if err != nil {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: cannot render %s: %v", g.Name(), obj.GetName(), err))
				continue
			}
			r.generatedRefs = append(r.generatedRefs, formatRef(gvk.Kind, obj.GetNamespace(), obj.GetName()))
			if render {
				r.Generated = append(r.Generated, doc)
			}
		}
	}
}
