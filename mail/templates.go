package mail

import (
	"bytes"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"
)

// The layout every HTML mail shares; the body is one of the parts below.
const htmlLayout = `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1f2328;max-width:560px;margin:24px auto;line-height:1.5">
<p style="font-weight:600;font-size:18px">Waddle</p>{{template "body" .}}
<p style="color:#656d76;font-size:13px;margin-top:32px">You get this mail because of an account on the Waddle hub at {{.BaseURL}}.</p></body></html>`

type mailTemplate struct {
	subject string
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

func newTemplate(subject, text, htmlBody string) mailTemplate {
	h := htmltemplate.Must(htmltemplate.New("layout").Parse(htmlLayout))
	htmltemplate.Must(h.New("body").Parse(htmlBody))
	return mailTemplate{subject: subject, text: texttemplate.Must(texttemplate.New("text").Parse(text)), html: h}
}

func (t mailTemplate) render(to string, data any) (Message, error) {
	var txt, html bytes.Buffer
	if err := t.text.Execute(&txt, data); err != nil {
		return Message{}, err
	}
	if err := t.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: t.subject, Text: txt.String(), HTML: html.String()}, nil
}

var (
	resetTemplate = newTemplate("Reset your Waddle password",
		`Someone asked to reset the password of the Waddle account for this address.

To choose a new password, open this link within one hour:

{{.Link}}

The link works once. If you did not ask for this, ignore this mail: your password stays as it is.
`,
		`<p>Someone asked to reset the password of the Waddle account for this address.</p>
<p><a href="{{.Link}}" style="display:inline-block;background:#1f6feb;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Choose a new password</a></p>
<p>The link works once, within one hour. If you did not ask for this, ignore this mail: your password stays as it is.</p>`)

	changedTemplate = newTemplate("Your Waddle password was changed",
		`The password of your Waddle account was changed, and every other session of the account was signed out.

If this was not you, reset your password at once: {{.BaseURL}}/forgot-password
`,
		`<p>The password of your Waddle account was changed, and every other session of the account was signed out.</p>
<p>If this was not you, <a href="{{.BaseURL}}/forgot-password">reset your password</a> at once.</p>`)

	inviteTemplate = newTemplate("You're invited to a community on Waddle",
		`{{.Inviter}} invited you to join {{.Community}} on Waddle as {{.Role}}.

To accept, open this link within 7 days and choose a password:

{{.Link}}
`,
		`<p>{{.Inviter}} invited you to join <strong>{{.Community}}</strong> on Waddle as {{.Role}}.</p>
<p><a href="{{.Link}}" style="display:inline-block;background:#1f6feb;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Accept the invitation</a></p>
<p>The link works once, within 7 days.</p>`)

	signInChangedTemplate = newTemplate("A change to how you sign in to Waddle",
		`{{.What}}

When: {{.When}}
From: {{.From}}
{{if .ByOperator}}
If you did not ask the hub's operator for this, reset your password at once, then tell the operator: {{.BaseURL}}/forgot-password
{{else}}
If this was not you, someone else can sign in to your account. Reset your password at once, which signs out every session: {{.BaseURL}}/forgot-password
Then check the second factors on your account page: {{.BaseURL}}/account
{{end}}`,
		`<p>{{.What}}</p>
<table style="border-collapse:collapse"><tr><td style="padding-right:12px;color:#656d76">When</td><td>{{.When}}</td></tr>
<tr><td style="padding-right:12px;color:#656d76">From</td><td>{{.From}}</td></tr></table>
{{if .ByOperator}}<p>If you did not ask the hub's operator for this, <a href="{{.BaseURL}}/forgot-password">reset your password</a> at once, then tell the operator.</p>
{{else}}<p>If this was not you, someone else can sign in to your account. <a href="{{.BaseURL}}/forgot-password">Reset your password</a> at once, which signs out every session, then check the second factors on <a href="{{.BaseURL}}/account">your account page</a>.</p>{{end}}`)

	addedTemplate = newTemplate("You were added to a community on Waddle",
		`{{.Inviter}} added you to {{.Community}} on Waddle as {{.Role}}.

Sign in to see it: {{.BaseURL}}/
`,
		`<p>{{.Inviter}} added you to <strong>{{.Community}}</strong> on Waddle as {{.Role}}.</p>
<p><a href="{{.BaseURL}}/">Sign in to see it</a>.</p>`)
)

// PasswordReset is the mail that carries a reset link.
func PasswordReset(to, baseURL, link string) (Message, error) {
	return resetTemplate.render(to, struct{ BaseURL, Link string }{baseURL, link})
}

// PasswordChanged tells the owner that their password changed.
func PasswordChanged(to, baseURL string) (Message, error) {
	return changedTemplate.render(to, struct{ BaseURL string }{baseURL})
}

// Invitation invites someone without an account into a community.
func Invitation(to, baseURL, link, inviter, community, role string) (Message, error) {
	return inviteTemplate.render(to, struct{ BaseURL, Link, Inviter, Community, Role string }{baseURL, link, inviter, community, role})
}

// AddedToCommunity tells an existing user they were added to a community.
func AddedToCommunity(to, baseURL, inviter, community, role string) (Message, error) {
	return addedTemplate.render(to, struct{ BaseURL, Inviter, Community, Role string }{baseURL, inviter, community, role})
}

// SignInChange is a change to how an account signs in (a second factor added
// or removed, new recovery codes), as its mail tells the owner.
type SignInChange struct {
	Subject    string
	What       string    // what changed, in a sentence or two
	At         time.Time // when
	From       string    // where from: the client's address, or who acted
	ByOperator bool      // an operator made the change, not the account's holder
}

// SignInChanged tells the owner of an account that how it signs in changed,
// and what to do if it was not them.
func SignInChanged(to, baseURL string, c SignInChange) (Message, error) {
	m, err := signInChangedTemplate.render(to, struct {
		BaseURL, What, When, From string
		ByOperator                bool
	}{baseURL, c.What, c.At.UTC().Format("Monday 2 January 2006, 15:04 MST"), c.From, c.ByOperator})
	if err != nil {
		return Message{}, err
	}
	m.Subject = c.Subject
	return m, nil
}
