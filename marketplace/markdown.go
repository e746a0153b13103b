package marketplace

import (
	"bytes"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var (
	// markdown renders GitHub-flavoured Markdown (tables, strikethrough,
	// autolinks) and drops raw HTML (goldmark's default without WithUnsafe).
	markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
	// sanitizer keeps what user content may hold; every link opens in a new
	// tab with rel="nofollow noopener".
	sanitizer = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.RequireNoReferrerOnFullyQualifiedLinks(false)
		p.AllowURLSchemes("https", "http", "mailto")
		return p
	}()
)

// RenderMarkdown turns a module's description or changelog into safe HTML.
func RenderMarkdown(src string) string {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return sanitizer.Sanitize("<p>" + bluemonday.StrictPolicy().Sanitize(src) + "</p>")
	}
	return sanitizer.Sanitize(buf.String())
}
