package router

// Response is one thing the platform adapter must do. Adapters render what
// their platform supports and degrade the rest to text.
type Response struct {
	Reply      string      `json:"reply,omitempty"`
	Parts      []ReplyPart `json:"-"`                 // Reply from a response template, cut by origin; never from JSON, so no remote module or client can mark text as the manager's
	Private    bool        `json:"private,omitempty"` // whisper, ephemeral
	Embed      *Embed      `json:"embed,omitempty"`   // Discord embed, Slack Block Kit section
	Moderation *Moderation `json:"moderation,omitempty"`
	Buttons    []Button    `json:"buttons,omitempty"`
	Form       *Form       `json:"form,omitempty"`    // Discord modal, Slack modal
	Overlay    *Overlay    `json:"overlay,omitempty"` // consumed by browser sources
	// A remote module's points change and HTTP call: the router makes them
	// (see capabilities.go) and takes them out of the answer.
	Points *PointsGrant `json:"points,omitempty"`
	HTTP   *HTTPRequest `json:"http,omitempty"`
}

// ReplyPart is a piece of a Reply rendered from a response template.
// Template parts are what the community's manager wrote; the others are the
// values of variables ({user}, {args}, {touser}…), which any chat user
// controls. A platform whose replies are markup (Slack's mrkdwn) escapes the
// values and may keep the manager's markup, such as a mention of the whole
// channel; a Reply without Parts is escaped whole. Joined, the parts are
// Reply.
type ReplyPart struct {
	Text     string `json:"text"`
	Template bool   `json:"template,omitempty"`
}

// Embed is a rich reply.
type Embed struct {
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
}

// EmbedField is one name/value line of an embed.
type EmbedField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Moderation actions.
const (
	ActionReply   = "reply"
	ActionWarn    = "warn"
	ActionDelete  = "delete"
	ActionTimeout = "timeout"
	ActionBan     = "ban"
)

// Moderation is an action the adapter must take on the message or its author.
type Moderation struct {
	Action  string `json:"action"` // warn, delete, timeout, ban
	Seconds int    `json:"seconds,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Button is a clickable component. Its ID comes back as the text of a button
// event, and is run as a command: "!vote yes" or "#poll close 3".
type Button struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Form is a dialog to open; its ID comes back as the text of a modal_submit
// event (run as a command, like a button's), with the fields in the event's data.
type Form struct {
	ID     string      `json:"id"`
	Title  string      `json:"title"`
	Fields []FormField `json:"fields"`
}

// FormField is one input of a form.
type FormField struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Overlay is an update for a browser source.
type Overlay struct {
	Kind string         `json:"kind"` // alert, text, media, leaderboard…
	Data map[string]any `json:"data,omitempty"`
}
