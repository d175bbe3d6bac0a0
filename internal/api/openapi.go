package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 document, kept in the repository next to
// the handlers it describes; TestOpenAPIMatchesRoutes holds the two together.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}
