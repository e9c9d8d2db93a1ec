package cmdutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/resource"

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

// ManifestInput is what -f commands (create, apply) read and how.
type ManifestInput struct {
	Filenames        []string
	Recursive        bool
	In               io.Reader
	ErrOut           io.Writer // validation warnings
	Validation       *ValidationOptions
	Namespace        string
	EnforceNamespace bool
}

// VisitManifests reads every -f source, runs the platform rules, resolves
// each usable document to a resource.Info and calls act with it. A document
// that cannot be used is reported and skipped; the others still reach act,
// so one bad object never stops the good ones. It returns how many
// documents reached act and every error, act's included.
func VisitManifests(ctx context.Context, f *Factory, in ManifestInput, act func(manifest.Document, *resource.Info) error) (int, []error) {
	docs, err := ReadManifests(ctx, in.Filenames, in.Recursive, in.In)
	if err != nil {
		return 0, []error{err}
	}
	docs, errs := in.Validation.Check(docs, in.ErrOut)
	count := 0
	for _, doc := range docs {
		if doc.Err != nil {
			errs = append(errs, doc.Err)
			continue
		}
		info, err := InfoForDocument(f, doc, in.Namespace, in.EnforceNamespace)
		if err != nil {
			errs = append(errs, DocumentError(doc, err))
			continue
		}
		count++
		if err := act(doc, info); err != nil {
			errs = append(errs, err)
		}
	}
	return count, errs
}
