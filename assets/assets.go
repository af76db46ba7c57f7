// Package assets embeds the CSS, vendored JavaScript and images, and serves
// them under content-hashed URLs so that browsers may cache them forever.
package assets

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed css js img
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/assets/"

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Assets maps logical names ("css/app.css") to hashed URLs
// ("/assets/css/app.5f1c2d3e.css") and serves the latter.
type Assets struct {
	urls   map[string]string // logical name → URL path
	byPath map[string]asset  // hashed path below Prefix → content
}

// New reads the embedded files and computes their hashed names.
func New() (*Assets, error) {
	a := &Assets{urls: map[string]string{}, byPath: map[string]asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		a.urls[name] = Prefix + hashed
		a.byPath[hashed] = asset{body: body, contentType: ct, etag: `"` + hash + `"`}
		return nil
	})
	return a, err
}

// URL returns the cache-busting URL of a logical asset name. An unknown name
// returns a URL that answers 404, which a page test will catch.
func (a *Assets) URL(name string) string {
	if u, ok := a.urls[name]; ok {
		return u
	}
	return Prefix + "missing/" + name
}

// ServeHTTP serves a hashed asset with a one-year immutable cache lifetime.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	f, ok := a.byPath[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
