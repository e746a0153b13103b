// Package static embeds the hub's vendored front-end files (see README for versions).
package static

import "embed"

// Files holds app.css, favicon.svg, htmx.min.js, hub.js, passkey.js, the
// overlay page's overlay.css and overlay.js, the workflow builder's
// workflow-builder.js and .css over the vendored Drawflow (drawflow.min.js,
// drawflow.min.css; its licence is drawflow.LICENSE), and the workflow runs'
// workflow-runs.css, workflow-runs.js and workflow-testrun.js (the live test run), workflow-builder-test.js (its panel in the builder).
//
//go:embed app.css favicon.svg htmx.min.js hub.js overlay.css overlay.js passkey.js drawflow.min.js drawflow.min.css workflow-builder.js workflow-builder.css workflow-runs.css workflow-runs.js workflow-testrun.js workflow-builder-test.js imports.js
var Files embed.FS
