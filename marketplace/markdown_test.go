package marketplace_test

import (
	"strings"
	"testing"

	"github.com/waddle/waddle/marketplace"
)

func TestRenderMarkdownIsSafe(t *testing.T) {
	cases := []struct {
		name, src   string
		want, avoid []string
	}{
		{"heading and emphasis", "# Trivia\n\n**bold** ~~old~~", []string{"<h1", "<strong>bold</strong>", "<del>old</del>"}, nil},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
		{"script tag", "hi <script>alert(1)</script>", nil, []string{"<script", "alert(1)</script"}},
		{"javascript link", "[click](javascript:alert(1))", nil, []string{"javascript:"}},
		{"onerror attribute", `<img src=x onerror="alert(1)">`, nil, []string{"onerror"}},
		{"raw html img with markdown", "![x](https://example.com/a.png)", []string{`<img src="https://example.com/a.png"`}, []string{"onerror"}},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, nil, []string{"<iframe"}},
		{"link attributes", "[home](https://example.com)", []string{`href="https://example.com"`, `nofollow`, `noopener`, `target="_blank"`}, nil},
		{"autolink", "see https://example.com/x", []string{`<a href="https://example.com/x"`}, nil},
		{"data uri", "[x](data:text/html;base64,PHNjcmlwdD4=)", nil, []string{"data:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := marketplace.RenderMarkdown(tc.src)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q lacks %q", out, w)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(strings.ToLower(out), a) {
					t.Errorf("%q holds %q", out, a)
				}
			}
		})
	}
}
