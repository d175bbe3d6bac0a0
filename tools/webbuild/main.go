// Command webbuild bundles the operator console (web/src) into web/dist with
// esbuild's Go API, so building the console needs Go and the npm packages in
// web/node_modules, and running Switchboard needs neither.
//
// It runs from the web directory (`go generate ./web`). The output is
// deterministic: CI rebuilds it and fails when the committed dist differs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	dir := flag.String("dir", ".", "the web directory (holds src/, index.html and node_modules/)")
	flag.Parse()
	if err := build(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "webbuild:", err)
		os.Exit(1)
	}
}

func build(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "preact")); err != nil {
		return fmt.Errorf("web/node_modules is missing: run `npm ci` in %s first", dir)
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     mustAbs(dir),
		EntryPoints:       []string{"src/main.tsx"},
		Bundle:            true,
		Splitting:         true, // dynamic imports (the phone's SIP stack) become chunks loaded on use
		Write:             false,
		Outdir:            "dist/assets",
		EntryNames:        "[name]-[hash]",
		AssetNames:        "[name]-[hash]",
		ChunkNames:        "[name]-[hash]",
		Format:            api.FormatESModule,
		Target:            api.ES2022,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		JSX:               api.JSXAutomatic,
		JSXImportSource:   "preact",
		LegalComments:     api.LegalCommentsEndOfFile,
		Charset:           api.CharsetUTF8,
		Loader:            map[string]api.Loader{".svg": api.LoaderFile, ".wav": api.LoaderFile},
		Define:            map[string]string{"process.env.NODE_ENV": `"production"`},
		LogLevel:          api.LogLevelWarning,
	})
	if len(res.Errors) > 0 {
		var b strings.Builder
		for _, m := range api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage}) {
			b.WriteString(m)
		}
		return fmt.Errorf("esbuild:\n%s", b.String())
	}
	dist := filepath.Join(mustAbs(dir), "dist")
	if err := os.RemoveAll(dist); err != nil {
		return fmt.Errorf("clean %s: %w", dist, err)
	}
	var js, css []string
	for _, f := range res.OutputFiles {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.Path, f.Contents, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		rel, err := filepath.Rel(dist, f.Path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasSuffix(rel, ".js") && strings.HasPrefix(rel, "assets/main-"):
			js = append(js, rel) // the entry point; chunks are imported by it
		case strings.HasSuffix(rel, ".css"):
			css = append(css, rel)
		}
	}
	sort.Strings(js)
	sort.Strings(css)
	tmpl, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return fmt.Errorf("read index.html: %w", err)
	}
	var tags bytes.Buffer
	for _, c := range css {
		fmt.Fprintf(&tags, "<link rel=\"stylesheet\" href=\"/%s\">\n", c)
	}
	for _, j := range js {
		fmt.Fprintf(&tags, "<script type=\"module\" src=\"/%s\"></script>\n", j)
	}
	page := bytes.Replace(tmpl, []byte("<!--assets-->"), tags.Bytes(), 1)
	if bytes.Equal(page, tmpl) {
		return fmt.Errorf("index.html has no <!--assets--> placeholder")
	}
	if err := os.WriteFile(filepath.Join(dist, "index.html"), page, 0o644); err != nil {
		return fmt.Errorf("write index.html: %w", err)
	}
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}
