package router

import "testing"

func TestPreviewReplyFillsSampleValues(t *testing.T) {
	got := PreviewReply("{user} hugs {touser} ({1}, {2}, {3}) #{count} {points}p on {platform} in {channel}: {args} {nope}")
	want := "Viewer hugs Friend (@Friend, 42, ) #7 120p on twitch in yourchannel: @Friend 42 {nope}"
	if got != want {
		t.Errorf("PreviewReply = %q, want %q", got, want)
	}
}
