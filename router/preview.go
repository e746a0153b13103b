package router

// Sample values of a response preview: what the hub shows a manager while
// they write a command's response.
const (
	PreviewUser    = "Viewer"
	PreviewMessage = "!cmd @Friend 42"
)

// PreviewQuote is what {quote} shows in a response preview.
const PreviewQuote = "#3: Never trust a duck with a plan."

// PreviewReply renders a response template as if PreviewUser had typed
// PreviewMessage in the channel "yourchannel" on Twitch, the command's
// {count} being 7, every named counter 4 before the reply ({counter:NAME}
// shows 5, {getcounter:NAME} 4), {quote} PreviewQuote and the user's {points}
// 120. Nothing is read or counted.
func PreviewReply(tmpl string) string {
	ev := Event{Platform: "twitch", Channel: "yourchannel", User: User{ID: "1", Name: "viewer", DisplayName: PreviewUser}}
	inv := Invocation{Name: "cmd", Args: []string{"@Friend", "42"}, Raw: "@Friend 42"}
	return render(tmpl, vars{ev: ev, inv: inv, channel: ev.Channel,
		count:      func() (int64, bool) { return 7, true },
		counter:    func(string) (int64, bool) { return 5, true },
		getCounter: func(string) (int64, bool) { return 4, true },
		quote:      func() (string, bool) { return PreviewQuote, true },
		points:     func() (int64, bool) { return 120, true }})
}
