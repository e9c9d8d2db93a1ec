package cmdutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/resource"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// ReadManifests reads every -f source (FILE, DIR, -, or an http(s) URL) into
// documents. A document that cannot be used carries its own Err; the other
// documents stay usable, so one bad object never hides the good ones.
func ReadManifests(ctx context.Context, sources []string, recursive bool, stdin io.Reader) ([]manifest.Document, error) {
	var local []string
	var docs []manifest.Document
	for _, s := range sources {
		if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
			data, err := fetchURL(ctx, s)
			if err != nil {
				return nil, err
			}
			docs = append(docs, manifest.Decode(s, data)...)
			continue
		}
		local = append(local, s)
	}
	if len(local) > 0 {
		d, err := manifest.Read(local, recursive, stdin)
		if err != nil {
			return nil, err
		}
		docs = append(d, docs...)
	}
	return docs, nil
}

// fetchURL gets a manifest over HTTP, trying three times as kubectl does.
func fetchURL(ctx context.Context, url string) ([]byte, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("unable to read URL %q, server reported %s", url, resp.Status)
			if resp.StatusCode < 500 {
				return nil, lastErr
			}
			continue
		}
		return data, nil
	}
	return nil, lastErr
}

// InfoForDocument resolves one decoded document to a resource.Info (REST
// mapping through discovery, client, namespace defaulting and, when the user
// gave -n, the rule that the object's namespace must match).
func InfoForDocument(f *Factory, doc manifest.Document, namespace string, enforceNamespace bool) (*resource.Info, error) {
	b := f.NewBuilder().
		Unstructured().
		NamespaceParam(namespace).DefaultNamespace().
		Stream(bytes.NewReader(doc.Raw), doc.Source).
		Flatten()
	if enforceNamespace {
		b = b.RequireNamespace()
	}
	infos, err := b.Do().Infos()
	if err != nil {
		return nil, err
	}
	if len(infos) != 1 {
		return nil, fmt.Errorf("%s: expected one object, decoded %d", doc.Source, len(infos))
	}
	return infos[0], nil
}

// DocumentError prefixes err with where the document came from, unless the
// message already names it.
func DocumentError(doc manifest.Document, err error) error {
	where := doc.Source
	if doc.Line > 0 {
		where = fmt.Sprintf("%s:%d", doc.Source, doc.Line)
	}
	if strings.Contains(err.Error(), where) {
		return err
	}
	return fmt.Errorf("%s: %w", where, err)
}

// CheckedInput is the -f or -k input of create and apply, and what to do
// with it before kubectl's command sends it: the platform rules, the "//"
// comment detection, each document's file and line.
type CheckedInput struct {
	Files            resource.FilenameOptions
	Selector         string // -l: only the objects it matches are sent
	Namespace        string
	EnforceNamespace bool
	In               io.Reader // stdin, for -f -
	ErrOut           io.Writer // validation warnings
	Rules            *ValidationOptions
	// Build builds -k with the command's own kubectl builder.
	Build func() ([]*resource.Info, error)
}

// Objects reads and checks the input and returns the objects that may be
// sent, one error per refused document (with its file and line) and, for
// -k, the builder's own error, which kubectl reports after sending the rest.
// An error that ends the command before anything is read is returned last.
func (in CheckedInput) Objects(ctx context.Context, f *Factory) (infos []*resource.Info, refused []error, buildErr, err error) {
	if len(in.Files.Kustomize) > 0 {
		infos, refused, buildErr = in.kustomized()
		return infos, refused, buildErr, nil
	}
	infos, refused, err = in.files(ctx, f)
	return infos, refused, nil, err
}

// files reads -f (files, directories, URLs, stdin) with ccictl's reader,
// which knows each object's file and line, runs the platform rules and
// resolves each usable document as kubectl's builder would (namespace
// defaulting, -n enforcement, the -l filter).
func (in CheckedInput) files(ctx context.Context, f *Factory) ([]*resource.Info, []error, error) {
	selector := labels.Everything()
	if in.Selector != "" {
		var err error
		if selector, err = labels.Parse(in.Selector); err != nil {
			return nil, nil, err
		}
	}
	docs, err := ReadManifests(ctx, in.Files.Filenames, in.Files.Recursive, in.In)
	if err != nil {
		return nil, nil, err
	}
	docs, refused := in.Rules.Check(docs, in.ErrOut)
	var infos []*resource.Info
	for _, doc := range docs {
		// -l picks the objects to send; one it leaves out is not sent, so
		// it is not refused either.
		if doc.Object != nil && !selector.Matches(labels.Set(doc.Object.GetLabels())) {
			continue
		}
		if doc.Err != nil {
			refused = append(refused, doc.Err)
			continue
		}
		info, err := InfoForDocument(f, doc, in.Namespace, in.EnforceNamespace)
		if err != nil {
			refused = append(refused, DocumentError(doc, err))
			continue
		}
		infos = append(infos, info)
	}
	return infos, refused, nil
}

// kustomized builds -k with kubectl's builder and runs ccictl's checks over
// what it produced, each object rendered as YAML and read as a manifest
// file is (the "//" comments included). Findings name the kustomization and
// the object; there is no file line to give.
func (in CheckedInput) kustomized() ([]*resource.Info, []error, error) {
	built, buildErr := in.Build()
	if len(built) == 0 {
		kcmdutil.CheckErr(buildErr)
	}
	docs := make([]manifest.Document, 0, len(built))
	for _, info := range built {
		data, err := yaml.Marshal(info.Object)
		kcmdutil.CheckErr(err)
		source := fmt.Sprintf("%s (%s %s)", info.Source, info.Mapping.GroupVersionKind.Kind, info.Name)
		decoded := manifest.Decode(source, data)
		if len(decoded) != 1 {
			kcmdutil.CheckErr(fmt.Errorf("%s: rendered as %d documents", source, len(decoded)))
		}
		docs = append(docs, decoded[0].WithoutLines())
	}
	checked, refused := in.Rules.Check(docs, in.ErrOut)
	var infos []*resource.Info
	for i, doc := range checked {
		if doc.Err != nil {
			refused = append(refused, doc.Err)
			continue
		}
		infos = append(infos, built[i])
	}
	return infos, refused, buildErr
}
