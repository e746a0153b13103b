// Package runes cuts text to a length limit without splitting a character:
// chat platforms, overlays and the execution log all bound what they keep,
// some in characters and some in bytes.
package runes

import "unicode/utf8"

// Truncate returns s cut to at most n characters (runes). When it cuts and
// tail is not empty, the result ends with tail ("…") and still has at most n
// characters. s is returned unchanged when it fits.
func Truncate(s string, n int, tail string) string {
	if utf8.RuneCountInString(s) <= max(n, 0) {
		return s
	}
	keep := n - utf8.RuneCountInString(tail)
	if keep < 0 {
		return tail[:prefix(tail, n, len(tail))]
	}
	return s[:prefix(s, keep, len(s))] + tail
}

// TruncateBytes returns s cut to at most n bytes on a character boundary,
// for limits counted in bytes.
func TruncateBytes(s string, n int) string {
	return s[:prefix(s, len(s), n)]
}

// prefix returns the length in bytes of the longest prefix of s with at
// most runes characters and at most bytes bytes that ends on a character
// boundary.
func prefix(s string, runes, bytes int) int {
	i := 0
	for pos, r := range s {
		if i >= runes || pos+utf8.RuneLen(r) > bytes {
			return pos
		}
		i++
	}
	return len(s)
}
