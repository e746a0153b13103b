package discord

import (
	"encoding/json"
	"errors"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Discord's modals hold 1 to 5 top-level components. Since August 2025 a
// text input sits in a Label (type 18), which carries its label, rather
// than in an Action Row; discordgo v0.29.0 knows neither the Label nor how
// to read a submit in that shape, so both are written out here.

// labelComponent is a Label: a text, and the one input it names.
type labelComponent struct {
	Label     string
	Component textInput
}

const labelComponentType discordgo.ComponentType = 18

// Type is the Label's component type.
func (labelComponent) Type() discordgo.ComponentType { return labelComponentType }

// MarshalJSON writes the Label as Discord reads it.
func (l labelComponent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type      discordgo.ComponentType `json:"type"`
		Label     string                  `json:"label"`
		Component textInput               `json:"component"`
	}{labelComponentType, l.Label, l.Component})
}

// textInput is a Text Input (type 4) in a Label: no label of its own.
type textInput struct {
	CustomID  string                   `json:"custom_id"`
	Style     discordgo.TextInputStyle `json:"style"`
	Required  bool                     `json:"required"`
	MaxLength int                      `json:"max_length,omitempty"`
}

// MarshalJSON writes the input with its type.
func (t textInput) MarshalJSON() ([]byte, error) {
	type plain textInput
	return json.Marshal(struct {
		Type discordgo.ComponentType `json:"type"`
		plain
	}{discordgo.TextInputComponent, plain(t)})
}

// errNoFields is a form none of whose fields Discord could show.
var errNoFields = errors.New("the form has no field Discord can show: each needs an id of 1 to 100 characters")

// noFieldsNote answers a click whose form has nothing to show.
const noFieldsNote = "This form has no fields to fill in, so it cannot open. Ask a manager to give it at least one field."

// modal is the Discord dialog of a form: its first five fields with an id
// of 1 to 100 characters, each a text input in a Label. A form with none
// is errNoFields: Discord refuses a modal without components.
func modal(f router.Form) (*discordgo.InteractionResponse, error) {
	title := f.Title
	if title == "" {
		title = "Form"
	}
	var rows []discordgo.MessageComponent
	for _, fl := range f.Fields {
		if len(rows) == 5 || fl.ID == "" || len(fl.ID) > 100 {
			continue
		}
		label := fl.Label
		if label == "" {
			label = fl.ID
		}
		rows = append(rows, labelComponent{Label: runes.Truncate(label, 45, ""),
			Component: textInput{CustomID: fl.ID, Style: discordgo.TextInputShort, MaxLength: 1000}})
	}
	if len(rows) == 0 {
		return nil, errNoFields
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{CustomID: f.ID, Title: runes.Truncate(title, 45, ""), Components: rows}}, nil
}

// modalSubmit is a modal submit's data, read from the raw interaction.
type modalSubmit struct {
	CustomID string
	Fields   map[string]any // text input custom id → value
}

// Type is the interaction type of a modal submit.
func (modalSubmit) Type() discordgo.InteractionType { return discordgo.InteractionModalSubmit }

// submitted is one component of a modal submit, in either shape: a Label
// with its component, or an Action Row with its components.
type submitted struct {
	Type       discordgo.ComponentType `json:"type"`
	CustomID   string                  `json:"custom_id"`
	Value      string                  `json:"value"`
	Component  *submitted              `json:"component"`
	Components []submitted             `json:"components"`
}

// parseModalSubmit reads the raw data of a modal submit: its custom id and
// the value of each text input, in Labels or (as before August 2025) in
// Action Rows; at most 50 fields, ids of 100 bytes, values of 4,000
// characters.
func parseModalSubmit(raw json.RawMessage) (modalSubmit, error) {
	var d struct {
		CustomID   string      `json:"custom_id"`
		Components []submitted `json:"components"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return modalSubmit{}, err
	}
	out := modalSubmit{CustomID: d.CustomID, Fields: map[string]any{}}
	var walk func(cs []submitted, depth int)
	walk = func(cs []submitted, depth int) {
		for _, c := range cs {
			switch {
			case c.Type == discordgo.TextInputComponent && c.CustomID != "" && len(out.Fields) < 50:
				out.Fields[runes.TruncateBytes(c.CustomID, 100)] = runes.Truncate(c.Value, 4000, "")
			case depth > 0:
			case c.Type == labelComponentType && c.Component != nil:
				walk([]submitted{*c.Component}, depth+1)
			case c.Type == discordgo.ActionsRowComponent:
				walk(c.Components, depth+1)
			}
		}
	}
	walk(d.Components, 0)
	return out, nil
}
