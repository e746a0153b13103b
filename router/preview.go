package router

// Sample values of a response preview: what the hub shows a manager while
// they write a command's response.
const (
	PreviewUser    = "Viewer"
	PreviewMessage = "!cmd @Friend 42"
)

// PreviewReply renders a response template as if PreviewUser had typed
// PreviewMessage in the channel "yourchannel" on Twitch, the command's
// {count} being 7 and the user's {points} 120. Nothing is read or counted.
func PreviewReply(tmpl string) string {
	ev := Event{Platform: "twitch", Channel: "yourchannel", User: User{ID: "1", Name: "viewer", DisplayName: PreviewUser}}
	inv := Invocation{Name: "cmd", Args: []string{"@Friend", "42"}, Raw: "@Friend 42"}
	return render(tmpl, vars{ev: ev, inv: inv, channel: ev.Channel,
		count:  func() (int64, bool) { return 7, true },
		points: func() (int64, bool) { return 120, true }})
}
