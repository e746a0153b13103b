package importer

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Helpers shared by the two desktop bots read from files: Streamlabs
// Chatbot and PhantomBot. Names carry the bf prefix (bot file) so that
// they stay apart from the other sources' helpers in this package.

var bfNameRe = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// bfCommandName turns a source's command name ("!Hello") into Waddle's
// ("hello"), or says why it cannot.
func bfCommandName(raw string) (string, string) {
	name := strings.ToLower(strings.TrimSpace(raw))
	name = strings.TrimPrefix(name, "!")
	switch {
	case name == "":
		return "", "the command has no name"
	case len(name) > MaxNameLen:
		return "", fmt.Sprintf("the name is longer than %d characters", MaxNameLen)
	case !bfNameRe.MatchString(name):
		return "", "Waddle command names are letters, digits and _ only"
	}
	return name, ""
}

var bfLoginRe = regexp.MustCompile(`^[a-z0-9_]{1,25}$`)

// bfLogin is a viewer's Twitch login from the name a bot kept ("@Name"
// or "Name"), or "" when it cannot be one.
func bfLogin(raw string) string {
	login := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(raw), "@"))
	if !bfLoginRe.MatchString(login) {
		return ""
	}
	return login
}

// bfSeconds clamps a cooldown to Waddle's range.
func bfSeconds(n int64) int {
	switch {
	case n < 0:
		return 0
	case n > 86400:
		return 86400
	}
	return int(n)
}

// bfWaddleVar matches what router/template.go renders as a variable.
var bfWaddleVar = regexp.MustCompile(`\{(user|touser|args|count|channel|platform|points|quote|[1-9]|random:[0-9]+-[0-9]+|counter:[a-z0-9_]+|getcounter:[a-z0-9_]+)\}`)

// bfLiteralVars names text that was plain in the source but that Waddle
// would replace.
func bfLiteralVars(original string) []string {
	var out []string
	for _, m := range bfWaddleVar.FindAllString(original, 3) {
		out = append(out, m+" was plain text in the source; Waddle reads it as its variable")
	}
	return out
}

// bfDedupe keeps the first of each entry, in order.
func bfDedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// bfReplyChecks adds what every translated reply is checked for.
func bfReplyChecks(c *Command) {
	c.Attention = append(c.Attention, bfLiteralVars(c.Original)...)
	if n := len([]rune(c.Response)); n > MaxReplyLen {
		c.Attention = append(c.Attention, fmt.Sprintf("the reply is %d characters; Waddle cuts replies at %d", n, MaxReplyLen))
	}
	if strings.TrimSpace(c.Response) == "" {
		c.Attention = append(c.Attention, "the reply is empty")
	}
	c.Attention = bfDedupe(c.Attention)
}

// bfCheckSize checks a file's size against the limit, reading it from
// the disk when the caller left it out.
func bfCheckSize(f File, limit int64, what string) error {
	size := f.Size
	if size <= 0 {
		st, err := os.Stat(f.Path)
		if err != nil {
			return &FileError{File: f.Name, Message: "cannot be read: " + bfPathless(err)}
		}
		size = st.Size()
	}
	if size > limit {
		return &FileError{File: f.Name, Message: fmt.Sprintf("is %s; a %s may be at most %s", bfBytes(size), what, bfBytes(limit))}
	}
	return nil
}

// bfPathless is an OS error without the temporary path the upload was
// saved under, which means nothing to the person who uploaded it.
func bfPathless(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func bfBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// bfQuoteNumbers settles quote numbers: a reader marks a quote without a
// number with -1. When the source counted from 0 (Waddle's quote 0 means
// "the next free number"), every number moves up by one, and a note says
// so; unnumbered quotes become 0 (the next free number).
func bfQuoteNumbers(b *Bundle, title string) {
	zero := false
	for _, q := range b.Quotes {
		if q.Number == 0 {
			zero = true
			break
		}
	}
	for i := range b.Quotes {
		switch {
		case b.Quotes[i].Number < 0:
			b.Quotes[i].Number = 0
		case zero:
			b.Quotes[i].Number++
		}
	}
	if zero {
		b.Notes = append(b.Notes, title+" numbers quotes from 0 and Waddle from 1: each quote's number is one higher (quote #0 is #1).")
	}
}
