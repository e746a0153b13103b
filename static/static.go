// Package static embeds the hub's vendored front-end files (see README for versions).
package static

import "embed"

// Files holds app.css and htmx.min.js.
//
//go:embed app.css htmx.min.js
var Files embed.FS
