package marketplace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// MaxReviewBytes bounds a review's text and an author's answer.
const MaxReviewBytes = 2000

// Audit actions of the review moderation (hub-wide: no community).
const (
	AuditReviewHidden   = audit.MarketplaceReviewHidden
	AuditReviewUnhidden = audit.MarketplaceReviewUnhidden
)

// The refusals of the review rules.
var (
	ErrReviewNotFound   = problem.New(problem.NotFound, "There is no such review.")
	ErrNoOwnReview      = problem.New(problem.NotFound, "You have not reviewed this module.")
	errNotInstalled     = problem.New(problem.Forbidden, "Only members of a community that has this module installed may review it.")
	errOwnModule        = problem.New(problem.Forbidden, "Authors cannot review their own modules.")
	errNotReviewAuthor  = problem.New(problem.Forbidden, "Only the module's author may answer its reviews.")
	errAlreadyAnswered  = problem.New(problem.Conflict, "This review already has the author's answer; an answer is given once and cannot be changed.")
	errNotGlobalAdmin   = problem.New(problem.Forbidden, "Only global admins may hide or show reviews.")
	errAnswerEmpty      = problem.Invalidf("answer", "Write an answer.")
	errReviewStarsRange = problem.Invalidf("stars", "Give 1 to 5 stars.")
)

// Review is one user's review of a module.
type Review struct {
	ModuleID     int64      `json:"module_id"`
	UserID       int64      `json:"user_id"`
	ReviewerName string     `json:"reviewer"`
	Stars        int        `json:"stars"`
	Body         string     `json:"body"`             // plain text, shown escaped
	Answer       string     `json:"answer,omitempty"` // the author's, plain text
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
	Hidden       bool       `json:"hidden"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Rating is a module's average of its visible reviews.
type Rating struct {
	Count int `json:"count"`
	Sum   int `json:"sum"`
}

// Average is the mean number of stars, 0 with no ratings.
func (r Rating) Average() float64 {
	if r.Count == 0 {
		return 0
	}
	return float64(r.Sum) / float64(r.Count)
}

// ReviewPage is a page of a module's reviews, newest first.
type ReviewPage struct {
	ModuleID int64    `json:"module_id"`
	Slug     string   `json:"slug"`
	AuthorID int64    `json:"author_id,omitempty"`
	Rating   Rating   `json:"rating"`
	Total    int      `json:"total"` // reviews listed in all (hidden ones for admins only)
	Reviews  []Review `json:"reviews"`
}

// ReviewerState is what a user may do in a module's reviews section.
type ReviewerState struct {
	MayReview bool    // a member of a community that installed it, and not its author
	IsAuthor  bool    // may answer reviews
	Own       *Review // the user's review, hidden or not; nil: none
}

type reviewModule struct {
	id       int64
	slug     string
	authorID int64
	rating   Rating
}

func (s *Service) reviewModule(ctx context.Context, q *db.Queries, slug string) (reviewModule, error) {
	m, err := q.MarketplaceReviewModule(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return reviewModule{}, ErrNotFound
	}
	if err != nil {
		return reviewModule{}, fmt.Errorf("load module %q: %w", slug, err)
	}
	out := reviewModule{id: m.ID, slug: m.Slug, rating: Rating{Count: int(m.RatingCount), Sum: int(m.RatingSum)}}
	if m.AuthorID != nil {
		out.authorID = *m.AuthorID
	}
	return out, nil
}

// reviewText trims a review's or answer's text and checks it.
func reviewText(field, text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case !utf8.ValidString(text):
		return "", problem.Invalidf(field, "The text is not valid UTF-8.")
	case strings.ContainsRune(text, 0):
		return "", problem.Invalidf(field, "The text contains a NUL character.")
	case len(text) > MaxReviewBytes:
		return "", problem.Invalidf(field, "The text is at most %d bytes; this is %d.", MaxReviewBytes, len(text))
	}
	return text, nil
}

// PutReview creates or edits userID's review of the module slug: 1–5 stars
// and up to MaxReviewBytes of plain text. Only a member of a community that
// has the module installed may review, never its author. The module's
// rating changes by this review's delta in the same transaction, with the
// review row locked so that concurrent edits add up exactly.
func (s *Service) PutReview(ctx context.Context, by audit.Actor, userID int64, slug string, stars int, body string) (Review, error) {
	if stars < 1 || stars > 5 {
		return Review{}, errReviewStarsRange
	}
	body, err := reviewText("body", body)
	if err != nil {
		return Review{}, err
	}
	q := db.New(s.pool)
	m, err := s.reviewModule(ctx, q, slug)
	if err != nil {
		return Review{}, err
	}
	if m.authorID == userID {
		return Review{}, errOwnModule
	}
	allowed, err := q.MarketplaceReviewMayReview(ctx, db.MarketplaceReviewMayReviewParams{ModuleID: m.id, UserID: userID})
	if err != nil {
		return Review{}, fmt.Errorf("check reviewer %d of %q: %w", userID, slug, err)
	}
	if !allowed {
		return Review{}, errNotInstalled
	}
	var out db.MarketplaceReview
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.MarketplaceReviewLock(ctx, db.MarketplaceReviewLockParams{ModuleID: m.id, UserID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			out, err = q.MarketplaceReviewInsert(ctx, db.MarketplaceReviewInsertParams{ModuleID: m.id, UserID: userID, Stars: int16(stars), Body: body})
			if err == nil {
				return rate(ctx, q, m.id, 1, stars)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// A concurrent call inserted it first: edit that one.
			old, err = q.MarketplaceReviewLock(ctx, db.MarketplaceReviewLockParams{ModuleID: m.id, UserID: userID})
		}
		if err != nil {
			return err
		}
		out, err = q.MarketplaceReviewUpdate(ctx, db.MarketplaceReviewUpdateParams{ModuleID: m.id, UserID: userID, Stars: int16(stars), Body: body})
		if err != nil {
			return err
		}
		if old.Hidden { // a hidden review is not in the rating
			return nil
		}
		return rate(ctx, q, m.id, 0, stars-int(old.Stars))
	})
	if err != nil {
		return Review{}, fmt.Errorf("save review of %q by %d: %w", slug, userID, err)
	}
	return s.review(ctx, m.id, out.UserID)
}

// rate adds a review's change to the module's rating count and sum.
func rate(ctx context.Context, q *db.Queries, moduleID int64, count, sum int) error {
	if count == 0 && sum == 0 {
		return nil
	}
	return q.MarketplaceReviewRating(ctx, db.MarketplaceReviewRatingParams{ID: moduleID, CountDelta: int32(count), SumDelta: int32(sum)})
}

// DeleteReview deletes userID's own review of the module.
func (s *Service) DeleteReview(ctx context.Context, by audit.Actor, userID int64, slug string) error {
	m, err := s.reviewModule(ctx, db.New(s.pool), slug)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.MarketplaceReviewLock(ctx, db.MarketplaceReviewLockParams{ModuleID: m.id, UserID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoOwnReview
		}
		if err != nil {
			return err
		}
		if err := q.MarketplaceReviewDelete(ctx, db.MarketplaceReviewDeleteParams{ModuleID: m.id, UserID: userID}); err != nil {
			return err
		}
		if old.Hidden {
			return nil
		}
		return rate(ctx, q, m.id, -1, -int(old.Stars))
	})
	if err != nil && problem.As(err) == nil {
		return fmt.Errorf("delete review of %q by %d: %w", slug, userID, err)
	}
	return err
}

// AnswerReview records the module author's answer to reviewerID's review,
// once: a second answer is refused.
func (s *Service) AnswerReview(ctx context.Context, by audit.Actor, authorUserID int64, slug string, reviewerID int64, text string) (Review, error) {
	m, err := s.reviewModule(ctx, db.New(s.pool), slug)
	if err != nil {
		return Review{}, err
	}
	if m.authorID == 0 || m.authorID != authorUserID {
		return Review{}, errNotReviewAuthor
	}
	text, err = reviewText("answer", text)
	if err != nil {
		return Review{}, err
	}
	if text == "" {
		return Review{}, errAnswerEmpty
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.MarketplaceReviewLock(ctx, db.MarketplaceReviewLockParams{ModuleID: m.id, UserID: reviewerID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrReviewNotFound
		}
		if err != nil {
			return err
		}
		if old.AnsweredAt != nil {
			return errAlreadyAnswered
		}
		_, err = q.MarketplaceReviewAnswer(ctx, db.MarketplaceReviewAnswerParams{ModuleID: m.id, UserID: reviewerID, Answer: text})
		return err
	})
	if err != nil {
		if problem.As(err) != nil {
			return Review{}, err
		}
		return Review{}, fmt.Errorf("answer review of %q by %d: %w", slug, reviewerID, err)
	}
	return s.review(ctx, m.id, reviewerID)
}

// HideReview hides an abusive review: it leaves the listing (except for
// admins) and the module's rating. Global admins only; audited.
func (s *Service) HideReview(ctx context.Context, by audit.Actor, admin bool, slug string, reviewerID int64) (Review, error) {
	return s.setHidden(ctx, by, admin, slug, reviewerID, true)
}

// UnhideReview shows a hidden review again and puts it back in the rating.
func (s *Service) UnhideReview(ctx context.Context, by audit.Actor, admin bool, slug string, reviewerID int64) (Review, error) {
	return s.setHidden(ctx, by, admin, slug, reviewerID, false)
}

// setHidden hides or shows a review. admin is the caller's global admin
// power as the request carries it (an API key of a global admin that acts
// as a plain user has none); the account must also still be a global admin.
func (s *Service) setHidden(ctx context.Context, by audit.Actor, admin bool, slug string, reviewerID int64, hidden bool) (Review, error) {
	if !admin || by.UserID == 0 {
		return Review{}, errNotGlobalAdmin
	}
	q := db.New(s.pool)
	isAdmin, err := q.MarketplaceReviewUserIsAdmin(ctx, by.UserID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Review{}, fmt.Errorf("check admin %d: %w", by.UserID, err)
	}
	if !isAdmin {
		return Review{}, errNotGlobalAdmin
	}
	m, err := s.reviewModule(ctx, q, slug)
	if err != nil {
		return Review{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		old, err := q.MarketplaceReviewLock(ctx, db.MarketplaceReviewLockParams{ModuleID: m.id, UserID: reviewerID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrReviewNotFound
		}
		if err != nil {
			return err
		}
		if old.Hidden == hidden {
			return nil
		}
		var hiddenBy *int64
		if hidden {
			hiddenBy = &by.UserID
		}
		if _, err := q.MarketplaceReviewSetHidden(ctx, db.MarketplaceReviewSetHiddenParams{ModuleID: m.id, UserID: reviewerID, Hidden: hidden, HiddenBy: hiddenBy}); err != nil {
			return err
		}
		action, count := AuditReviewUnhidden, 1
		if hidden {
			action, count = AuditReviewHidden, -1
		}
		if err := rate(ctx, q, m.id, count, count*int(old.Stars)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{Action: action, Target: fmt.Sprintf("review of module %s by user %d", slug, reviewerID),
			Before: map[string]bool{"hidden": old.Hidden}, After: map[string]bool{"hidden": hidden}})
	})
	if err != nil {
		if problem.As(err) != nil {
			return Review{}, err
		}
		return Review{}, fmt.Errorf("hide review of %q by %d: %w", slug, reviewerID, err)
	}
	return s.review(ctx, m.id, reviewerID)
}

// Reviews lists a module's reviews newest first, with its rating; hidden
// reviews only when includeHidden (for global admins).
func (s *Service) Reviews(ctx context.Context, slug string, limit, offset int, includeHidden bool) (ReviewPage, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	offset = max(offset, 0)
	q := db.New(s.read)
	m, err := s.reviewModule(ctx, q, slug)
	if err != nil {
		return ReviewPage{}, err
	}
	rows, err := q.MarketplaceReviewList(ctx, db.MarketplaceReviewListParams{ModuleID: m.id, IncludeHidden: includeHidden,
		MaxRows: int32(limit), Skip: int32(min(offset, 1<<30))})
	if err != nil {
		return ReviewPage{}, fmt.Errorf("list reviews of %q: %w", slug, err)
	}
	total, err := q.MarketplaceReviewCount(ctx, db.MarketplaceReviewCountParams{ModuleID: m.id, IncludeHidden: includeHidden})
	if err != nil {
		return ReviewPage{}, fmt.Errorf("count reviews of %q: %w", slug, err)
	}
	p := ReviewPage{ModuleID: m.id, Slug: m.slug, AuthorID: m.authorID, Rating: m.rating, Total: int(total), Reviews: make([]Review, 0, len(rows))}
	for _, r := range rows {
		p.Reviews = append(p.Reviews, toReview(db.MarketplaceReviewGetRow(r)))
	}
	return p, nil
}

// ReviewerState says what userID may do in the module's reviews section.
func (s *Service) ReviewerState(ctx context.Context, slug string, userID int64) (ReviewerState, error) {
	q := db.New(s.read)
	m, err := s.reviewModule(ctx, q, slug)
	if err != nil {
		return ReviewerState{}, err
	}
	st := ReviewerState{IsAuthor: m.authorID != 0 && m.authorID == userID}
	if !st.IsAuthor {
		st.MayReview, err = q.MarketplaceReviewMayReview(ctx, db.MarketplaceReviewMayReviewParams{ModuleID: m.id, UserID: userID})
		if err != nil {
			return ReviewerState{}, fmt.Errorf("check reviewer %d of %q: %w", userID, slug, err)
		}
	}
	r, err := q.MarketplaceReviewGet(ctx, db.MarketplaceReviewGetParams{ModuleID: m.id, UserID: userID})
	switch {
	case err == nil:
		own := toReview(r)
		st.Own = &own
	case !errors.Is(err, pgx.ErrNoRows):
		return ReviewerState{}, fmt.Errorf("load own review of %q: %w", slug, err)
	}
	return st, nil
}

func (s *Service) review(ctx context.Context, moduleID, userID int64) (Review, error) {
	r, err := db.New(s.pool).MarketplaceReviewGet(ctx, db.MarketplaceReviewGetParams{ModuleID: moduleID, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Review{}, ErrReviewNotFound
	}
	if err != nil {
		return Review{}, fmt.Errorf("load review of module %d by %d: %w", moduleID, userID, err)
	}
	return toReview(r), nil
}

func toReview(r db.MarketplaceReviewGetRow) Review {
	name := r.ReviewerName
	if name == "" {
		name = fmt.Sprintf("User %d", r.UserID)
	}
	return Review{ModuleID: r.ModuleID, UserID: r.UserID, ReviewerName: name, Stars: int(r.Stars), Body: r.Body, Answer: r.Answer,
		AnsweredAt: r.AnsweredAt, Hidden: r.Hidden, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
