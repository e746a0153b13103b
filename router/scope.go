package router

import "context"

// CommunityOf returns the id of the community that linked server on
// platform, through the same cache events are routed with, or ErrNotLinked.
// The event API uses it to keep a community's key to that community's
// servers before any event is handled.
func (r *Router) CommunityOf(ctx context.Context, platform, server string) (int64, error) {
	s, err := r.community(ctx, platform, server)
	if err != nil {
		return 0, err
	}
	return s.communityID, nil
}
