package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
)

// Overlays sends action_browser_source's updates through the overlay
// service, the way the overlay API does: the source is looked up within the
// community (in SQL), the update checked and cleaned, then stored and
// fanned out to the source's pages.
type Overlays struct {
	Service *overlay.Service
}

var _ OverlaySender = Overlays{}

// SendUpdate shows an update of kind (alert, ticker, text, media, chat or
// leaderboard) on the community's source, named by id or by name. Data holds
// the update's fields: message, user, html, image, sound, video, seconds,
// preset, volume; for an alert without a message, event and amount fill the
// source's template for that event, as a platform event's alert does.
func (o Overlays) SendUpdate(ctx context.Context, communityID int64, source, kind string, data map[string]any) error {
	src, err := o.find(ctx, communityID, source)
	if err != nil {
		return err
	}
	want := src.Kind
	if want == overlay.Alerts {
		want = "alert"
	}
	if kind != want {
		return problem.Invalidf("kind", "The source %q is a %s source: it shows %q updates, not %q.", src.Name, src.Kind, want, kind)
	}
	var u overlay.Update
	if kind == "leaderboard" {
		u, _, err = o.Service.Current(ctx, src)
		if err != nil {
			return err
		}
	} else if u, err = updateOf(src, kind, data); err != nil {
		return err
	}
	if u, err = o.Service.Clean(u); err != nil {
		return err
	}
	if _, err := o.Service.Publish(ctx, src.ID, u); err != nil {
		return fmt.Errorf("show on browser source %q: %w", src.Name, err)
	}
	return nil
}

// find returns the community's source with the id or, failing that, the name.
func (o Overlays) find(ctx context.Context, communityID int64, source string) (overlay.Source, error) {
	if id, err := strconv.ParseInt(source, 10, 64); err == nil && id > 0 {
		src, err := o.Service.Get(ctx, communityID, id)
		if err == nil || !errors.Is(err, overlay.ErrNotFound) {
			return src, err
		}
	}
	list, err := o.Service.List(ctx, communityID)
	if err != nil {
		return overlay.Source{}, err
	}
	for _, src := range list {
		if src.Name == source {
			return src, nil
		}
	}
	for _, src := range list {
		if strings.EqualFold(src.Name, source) {
			return src, nil
		}
	}
	return overlay.Source{}, problem.Invalidf("source", "The community has no browser source %q.", source)
}

// updateOf builds the update from the node's data.
func updateOf(src overlay.Source, kind string, data map[string]any) (overlay.Update, error) {
	str := func(k string) string {
		switch v := data[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	num := func(k string) (int, error) {
		s := strings.TrimSpace(str(k))
		if s == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < -1e6 || f > 1e6 {
			return 0, problem.Invalidf("data."+k, "%s is a number, not %q.", k, s)
		}
		return int(f), nil
	}
	u := overlay.Update{Type: kind, Message: str("message"), User: str("user"), HTML: str("html"),
		Image: str("image"), Sound: str("sound"), Video: str("video"), Preset: str("preset")}
	var err error
	if u.Seconds, err = num("seconds"); err != nil {
		return u, err
	}
	if u.Volume, err = num("volume"); err != nil {
		return u, err
	}
	amount, err := num("amount")
	if err != nil {
		return u, err
	}
	if kind == "alert" {
		style, ok := src.Settings.Alerts[str("event")]
		if !ok {
			style = overlay.DefaultAlerts[str("event")]
		}
		if u.Message == "" {
			tmpl := style.Template
			if tmpl == "" {
				tmpl = "{user}"
			}
			u.Message = strings.NewReplacer("{user}", u.User, "{amount}", strconv.Itoa(amount)).Replace(tmpl)
		}
		if u.Image == "" {
			u.Image = style.Image
		}
		if u.Sound == "" {
			u.Sound = style.Sound
		}
		if u.Seconds == 0 {
			u.Seconds = max(style.Seconds, 1)
		}
		if u.Preset == "" {
			u.Preset = src.Settings.PresetOf()
		}
		if u.Volume == 0 {
			u.Volume = src.Settings.VolumeOf()
		}
	}
	return u, nil
}
