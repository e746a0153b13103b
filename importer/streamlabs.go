package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/waddle/waddle/router"
)

// Streamlabs Chatbot (the desktop bot, once AnkhBot) exports commands from
// its Commands tab (right click → Export Command or Export Group) as
// .abcom (one command) or .abcomg (a group): JSON, one object per command
// with the fields below. Its currency and quotes tabs export Excel sheets
// (.xlsx), read in streamlabs_sheet.go.

// slCooldownUnit is the unit Streamlabs Chatbot's cooldowns are written
// in: its documentation gives "!command cooldown (command) (minutes)".
const slCooldownUnit = 60

// slCommand is one command as the export writes it.
type slCommand struct {
	Command      string  `json:"Command"`
	Permission   string  `json:"Permission"`
	Info         string  `json:"Info"` // the user, rank, points or hours of a special permission
	Group        string  `json:"Group"`
	Response     string  `json:"Response"`
	Cooldown     slFloat `json:"Cooldown"`
	UserCooldown slFloat `json:"UserCooldown"`
	Cost         slFloat `json:"Cost"`
	Count        slFloat `json:"Count"`
	Usage        string  `json:"Usage"`
	Enabled      *bool   `json:"Enabled"`
	SoundFile    string  `json:"SoundFile"`
}

// slFloat is a number the export may write as a number or a string.
type slFloat float64

func (f *slFloat) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		*f = 0
		return nil
	}
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = slFloat(v)
	return nil
}

// ReadStreamlabs reads Streamlabs Chatbot's exports: command files
// (.abcom, .abcomg) and Excel sheets (.xlsx: the currency sheet and the
// quotes sheet), in any number and order.
func ReadStreamlabs(files []File) (*Bundle, error) {
	if len(files) == 0 {
		return nil, errors.New("no file: upload a Streamlabs Chatbot command export (.abcom, .abcomg) or an Excel export (.xlsx)")
	}
	b := &Bundle{Source: Streamlabs}
	seen := map[string]int{}
	for _, f := range files {
		var err error
		switch strings.ToLower(filepath.Ext(f.Name)) {
		case ".abcom", ".abcomg":
			err = slReadCommands(b, f, seen)
		case ".xlsx", ".xlsm":
			err = slReadWorkbook(b, f)
		case ".xls":
			err = &FileError{File: f.Name, Message: "is an old Excel file (.xls); open it in Excel or LibreOffice and save it as .xlsx"}
		default:
			err = &FileError{File: f.Name, Message: "is not a Streamlabs Chatbot export: expected .abcom, .abcomg or .xlsx"}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(b.Commands) > 0 {
		b.Notes = append(b.Notes, "Streamlabs Chatbot cooldowns are read as minutes, as its documentation gives them (a cooldown of 2 becomes 120 seconds).")
	}
	if len(b.Quotes) > 0 {
		bfQuoteNumbers(b, "Streamlabs Chatbot")
	}
	return b, nil
}

// slReadCommands reads one .abcom (an object) or .abcomg (an array).
func slReadCommands(b *Bundle, f File, seen map[string]int) error {
	if err := bfCheckSize(f, MaxCommandsBytes, "command export"); err != nil {
		return err
	}
	data, err := slReadAll(f, MaxCommandsBytes)
	if err != nil {
		return err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return &FileError{File: f.Name, Message: "is empty"}
	}
	var list []slCommand
	if trimmed[0] == '{' {
		var one slCommand
		err = json.Unmarshal(data, &one)
		list = []slCommand{one}
	} else {
		err = json.Unmarshal(data, &list)
	}
	if err != nil {
		return slJSONError(f.Name, data, err)
	}
	if len(b.Commands)+len(list) > MaxCommands {
		return &FileError{File: f.Name, Message: fmt.Sprintf("holds more than %d commands", MaxCommands)}
	}
	for _, c := range list {
		cmd, why := slCommandFrom(c)
		if why != "" {
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command, Reason: why})
			continue
		}
		if i, ok := seen[cmd.Name]; ok {
			b.Skipped = append(b.Skipped, Skipped{Category: "command", Name: c.Command,
				Reason: fmt.Sprintf("a second command named !%s; the first (%q) is imported", cmd.Name, b.Commands[i].Original)})
			continue
		}
		seen[cmd.Name] = len(b.Commands)
		b.Commands = append(b.Commands, cmd)
	}
	return nil
}

func slReadAll(f File, limit int64) ([]byte, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, &FileError{File: f.Name, Message: "cannot be read: " + bfPathless(err)}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, &FileError{File: f.Name, Message: "cannot be read: " + bfPathless(err)}
	}
	if int64(len(data)) > limit {
		return nil, &FileError{File: f.Name, Message: fmt.Sprintf("is larger than %s", bfBytes(limit))}
	}
	return data, nil
}

// slJSONError names the line a JSON error is on.
func slJSONError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(data)):
		return &FileError{File: name, Line: slLine(data, int64(len(data))), Message: "ends in the middle of the JSON (the file is cut short)"}
	case errors.As(err, &syn):
		return &FileError{File: name, Line: slLine(data, syn.Offset), Message: "is not valid JSON: " + syn.Error()}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the file"
		}
		return &FileError{File: name, Line: slLine(data, typ.Offset), Message: fmt.Sprintf("%s should be %s, not a JSON %s", field, slJSONKind(typ.Type.Kind().String()), typ.Value)}
	}
	// A field's own decoder (a number written as text) reports no offset.
	return &FileError{File: name, Message: "is not a Streamlabs Chatbot command export: " + err.Error()}
}

func slJSONKind(k string) string {
	switch k {
	case "slice":
		return "a list of commands"
	case "struct":
		return "a command (an object)"
	case "string":
		return "text"
	case "bool":
		return "true or false"
	}
	return k
}

// slLine is the 1-based line of a byte offset.
func slLine(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// slCommandFrom translates one command, or says why it cannot come.
func slCommandFrom(c slCommand) (Command, string) {
	name, why := bfCommandName(c.Command)
	if why != "" {
		return Command{}, why
	}
	resp, attention := slTranslate(c.Response)
	perm, permWhy := slLevel(c.Permission, c.Info)
	cmd := Command{
		Name:           name,
		Response:       resp,
		Original:       c.Response,
		Attention:      attention,
		Permission:     perm,
		SourceLevel:    slSourceLevel(c.Permission, c.Info),
		GlobalCooldown: slCooldown(float64(c.Cooldown)),
		UserCooldown:   slCooldown(float64(c.UserCooldown)),
		Enabled:        c.Enabled == nil || *c.Enabled,
		Count:          slCount(float64(c.Count)),
	}
	if permWhy != "" {
		cmd.Attention = append(cmd.Attention, permWhy)
	}
	if c.Cost > 0 {
		cmd.Attention = append(cmd.Attention, fmt.Sprintf("cost %v points to use; Waddle commands are free", float64(c.Cost)))
	}
	if strings.TrimSpace(c.SoundFile) != "" {
		cmd.Attention = append(cmd.Attention, "played the sound "+filepath.Base(strings.ReplaceAll(c.SoundFile, `\`, "/"))+"; Waddle replies play no sounds")
	}
	if u := strings.ToUpper(strings.TrimSpace(c.Usage)); u != "" && u != "SC" && u != "SB" && u != "CB" && u != "A" {
		cmd.Attention = append(cmd.Attention, "usage "+u+" ("+slUsage(u)+"); Waddle answers in the chat the command was used in")
	}
	if g := strings.TrimSpace(c.Group); strings.HasPrefix(strings.ToUpper(g), "[GAME]") {
		cmd.Attention = append(cmd.Attention, fmt.Sprintf("its group %q made it work only while playing that game; Waddle has no such condition", g))
	}
	bfReplyChecks(&cmd)
	return cmd, ""
}

func slCooldown(v float64) int {
	secs := v * slCooldownUnit
	switch {
	case !(secs > 0): // also NaN
		return 0
	case secs >= 86400:
		return 86400
	}
	return int(secs + 0.5)
}

// slCount is a use count, whole and within the ledger's range.
func slCount(v float64) int64 {
	switch {
	case !(v > 0):
		return 0
	case v >= MaxPoints:
		return MaxPoints
	}
	return int64(v)
}

func slUsage(u string) string {
	switch u {
	case "SW":
		return "stream whispers"
	case "DC":
		return "Discord chat"
	case "DW":
		return "Discord whispers"
	case "DB":
		return "Discord chat and whispers"
	case "WB":
		return "whispers on stream and Discord"
	}
	return "unknown"
}

// slLevel maps a Streamlabs Chatbot permission to Waddle's level: a
// permission Waddle has no level for goes to the nearest stricter one,
// with the reason.
//
//	Everyone                    everyone
//	Regular                     subscriber (attention: no regular level)
//	Subscriber                  subscriber
//	GameWisp Subscriber         subscriber (attention)
//	VIP                         vip
//	VIP Exclusive               vip (attention: moderators too)
//	Moderator                   moderator
//	Editor                      broadcaster (attention: no editor level)
//	Caster                      broadcaster
//	Invisible, User_Specific    broadcaster (attention)
//	Min_Rank, Min_Points,
//	Min_Hours                   subscriber (attention: no rank, points or hours gate)
//	anything else               broadcaster (attention)
func slLevel(perm, info string) (string, string) {
	p := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(perm))
	info = strings.TrimSpace(info)
	switch p {
	case "", "everyone", "viewer", "viewers":
		return router.Everyone, ""
	case "regular", "regulars":
		return router.Subscriber, "Regular: Waddle has no regular level; subscribers and above may use it"
	case "subscriber", "subscribers":
		return router.Subscriber, ""
	case "gamewispsubscriber", "gamewisp":
		return router.Subscriber, "GameWisp Subscriber: Waddle knows platform subscribers only"
	case "vip":
		return router.VIP, ""
	case "vipexclusive":
		return router.VIP, "VIP Exclusive: in Waddle moderators and the broadcaster may use it too"
	case "moderator", "moderators", "mod":
		return router.Moderator, ""
	case "editor", "editors":
		return router.Broadcaster, "Editor: Waddle has no editor level; only the broadcaster may use it"
	case "caster", "streamer", "broadcaster":
		return router.Broadcaster, ""
	case "invisible":
		return router.Broadcaster, "Invisible: a hidden command; only the broadcaster may use it"
	case "userspecific":
		return router.Broadcaster, fmt.Sprintf("User_Specific (%s): Waddle has no per-user permission; only the broadcaster may use it", slInfo(info))
	case "minrank":
		return router.Subscriber, fmt.Sprintf("Min_Rank (%s): Waddle has no ranks; subscribers and above may use it", slInfo(info))
	case "minpoints":
		return router.Subscriber, fmt.Sprintf("Min_Points (%s): Waddle has no points gate; subscribers and above may use it", slInfo(info))
	case "minhours":
		return router.Subscriber, fmt.Sprintf("Min_Hours (%s): Waddle has no watch-time gate; subscribers and above may use it", slInfo(info))
	}
	return router.Broadcaster, fmt.Sprintf("permission %q is unknown; only the broadcaster may use it", perm)
}

func slInfo(info string) string {
	if info == "" {
		return "not given"
	}
	return info
}

func slSourceLevel(perm, info string) string {
	perm = strings.TrimSpace(perm)
	if perm == "" {
		perm = "Everyone"
	}
	if info = strings.TrimSpace(info); info != "" {
		return perm + ": " + info
	}
	return perm
}
