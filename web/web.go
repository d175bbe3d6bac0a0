// Package web holds the operator console: its TypeScript sources (src/), and
// the built, minified files (dist/) that are committed and embedded into the
// binary, so running Switchboard needs no Node.
package web

//go:generate go run ../tools/webbuild

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist is the built console: index.html and assets/ with hashed names.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees dist exists
	}
	return sub
}
