// Package static embeds the hub's vendored front-end files (see README for versions).
package static

import "embed"

// Files holds app.css, favicon.svg and htmx.min.js.
//
//go:embed app.css favicon.svg htmx.min.js
var Files embed.FS
