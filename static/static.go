// Package static embeds the hub's vendored front-end files (see README for versions).
package static

import "embed"

// Files holds app.css, favicon.svg, htmx.min.js, hub.js, passkey.js, and the overlay
// page's overlay.css and overlay.js.
//
//go:embed app.css favicon.svg htmx.min.js hub.js overlay.css overlay.js passkey.js
var Files embed.FS
