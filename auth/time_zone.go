package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names resolve on hosts without a zoneinfo database

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// maxTimeZoneLen bounds a zone name; the longest IANA names have about 30 characters.
const maxTimeZoneLen = 64

// ValidateTimeZone checks an IANA time zone name such as Europe/Berlin and
// returns its location. field names the form field in the error.
func ValidateTimeZone(field, name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, problem.Invalidf(field, "Choose a time zone, such as Europe/Berlin or America/New_York.")
	case len(name) > maxTimeZoneLen:
		return nil, problem.Invalidf(field, "A time zone name has at most %d characters.", maxTimeZoneLen)
	case name == "Local": // the server's zone, whatever it is
		return nil, problem.Invalidf(field, "%q is not a time zone. Use a name such as Europe/Berlin or America/New_York.", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, problem.Invalidf(field, "%q is not a time zone we know. Use a name such as Europe/Berlin or America/New_York.", name)
	}
	return loc, nil
}

// Location is the time zone the hub shows u's dates and times in: UTC until
// one is chosen.
func (u User) Location() *time.Location {
	if u.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil { // a zone the running binary no longer knows
		return time.UTC
	}
	return loc
}

// SetTimeZone stores the zone a person chose.
func (s *Service) SetTimeZone(ctx context.Context, userID int64, name string) error {
	if _, err := ValidateTimeZone("time_zone", name); err != nil {
		return err
	}
	if err := db.New(s.pool).UserSetTimeZone(ctx, db.UserSetTimeZoneParams{ID: userID, TimeZone: strings.TrimSpace(name)}); err != nil {
		return fmt.Errorf("set time zone: %w", err)
	}
	return nil
}

// OfferTimeZone stores the browser's zone while the person has not chosen
// one, and reports whether it did.
func (s *Service) OfferTimeZone(ctx context.Context, userID int64, name string) (bool, error) {
	if _, err := ValidateTimeZone("time_zone", name); err != nil {
		return false, err
	}
	n, err := db.New(s.pool).UserSetTimeZoneIfUnset(ctx, db.UserSetTimeZoneIfUnsetParams{ID: userID, TimeZone: strings.TrimSpace(name)})
	if err != nil {
		return false, fmt.Errorf("offer time zone: %w", err)
	}
	return n == 1, nil
}
