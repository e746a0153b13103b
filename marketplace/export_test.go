package marketplace

import "time"

// SetNow fixes the service's clock, for tests of day-bounded figures.
func SetNow(s *Service, now func() time.Time) { s.now = now }
