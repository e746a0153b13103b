// Package views holds the hub's templ components: layouts, pages and the
// HTMX partials, one .templ file per resource. Each page or partial takes a
// view model shaped like the screen; templates query nothing.
//
// The comment lives here because templ's generated header would split a
// package comment written in a .templ file.
package views
