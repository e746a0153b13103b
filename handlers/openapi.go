package handlers

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.yaml
var openAPI []byte

// openAPISpec serves the API description.
func (h *Handler) openAPISpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}
