package twitch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/platform"
)

// VIPs gives and takes VIP in a linked channel for labels
// (labels.RoleGiver), with the channel owner's token, which needs the
// channel:manage:vips scope.
type VIPs struct{ b *Bot }

// VIPs returns the bot's VIP giver.
func (b *Bot) VIPs() *VIPs { return &VIPs{b: b} }

// VIPGroup is the one group of a Twitch channel.
const VIPGroup = "vip"

const vipScope = "channel:manage:vips"

// Groups offers VIP, refused when the owner's token lacks the scope.
func (v *VIPs) Groups(ctx context.Context, channel string) ([]labels.PlatformGroup, error) {
	g := labels.PlatformGroup{ID: VIPGroup, Name: "VIP"}
	tok, err := v.b.cfg.Tokens.Get(ctx, Platform, channel)
	switch {
	case errors.Is(err, platform.ErrNoToken):
		g.Refused = "the channel's owner has not connected their account"
	case err != nil:
		return nil, fmt.Errorf("load the token of %s: %w", channel, err)
	case !slices.Contains(tok.Scopes, vipScope):
		g.Refused = "the owner's token lacks the " + vipScope + " scope: connect the channel again"
	}
	return []labels.PlatformGroup{g}, nil
}

// Give makes user a VIP.
func (v *VIPs) Give(ctx context.Context, channel, group, user string) error {
	return v.change(ctx, http.MethodPost, channel, group, user)
}

// Take removes user's VIP.
func (v *VIPs) Take(ctx context.Context, channel, group, user string) error {
	return v.change(ctx, http.MethodDelete, channel, group, user)
}

func (v *VIPs) change(ctx context.Context, method, channel, group, user string) error {
	if group != VIPGroup {
		return &labels.Refused{Reason: "Twitch has no group " + group + "; only VIP"}
	}
	id, err := v.b.broadcasterID(ctx, channel)
	if err != nil {
		return vipError(err)
	}
	err = v.b.helix.call(ctx, method, "/channels/vips", url.Values{"broadcaster_id": {id}, "user_id": {user}}, nil, channel, nil)
	var he *HelixError
	if errors.As(err, &he) && method == http.MethodDelete && he.Status == http.StatusUnprocessableEntity {
		return nil // not a VIP: already so
	}
	return vipError(err)
}

// Members lists the channel's VIPs.
func (v *VIPs) Members(ctx context.Context, channel, group string) ([]string, error) {
	id, err := v.b.broadcasterID(ctx, channel)
	if err != nil {
		return nil, vipError(err)
	}
	var out []string
	after := ""
	for range 100 {
		q := url.Values{"broadcaster_id": {id}, "first": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		var page struct {
			Data []struct {
				UserID string `json:"user_id"`
			} `json:"data"`
			Pagination struct {
				Cursor string `json:"cursor"`
			} `json:"pagination"`
		}
		if err := v.b.helix.call(ctx, http.MethodGet, "/channels/vips", q, nil, channel, &page); err != nil {
			return nil, vipError(err)
		}
		for _, d := range page.Data {
			out = append(out, d.UserID)
		}
		if page.Pagination.Cursor == "" {
			break
		}
		after = page.Pagination.Cursor
	}
	return out, nil
}

// vipError sorts Twitch's answers: 429 and 5xx are transient; 400, 401,
// 403, 404, 409 (no VIP slots), 422 (a moderator) and 425 (the channel has
// not met the requirements to add VIPs) are permanent, in Twitch's words.
func vipError(err error) error {
	if err == nil {
		return nil
	}
	var ra *platform.RetryAfter
	if errors.As(err, &ra) {
		return &labels.Later{Wait: ra.Wait, Reason: "Twitch is rate limiting the channel"}
	}
	var he *HelixError
	if errors.As(err, &he) {
		if he.Status >= 500 {
			return &labels.Later{Reason: fmt.Sprintf("Twitch answered %d %s", he.Status, he.Message)}
		}
		return &labels.Refused{Reason: fmt.Sprintf("Twitch refused (%d): %s", he.Status, he.Message)}
	}
	if errors.Is(err, platform.ErrNoToken) {
		return &labels.Refused{Reason: "the channel's owner has not connected their account"}
	}
	return fmt.Errorf("twitch: %w", err)
}
