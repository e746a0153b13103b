package mail

import (
	"bytes"
	htmltemplate "html/template"
	texttemplate "text/template"
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
