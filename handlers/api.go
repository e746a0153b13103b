package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
)

const (
	roleUser    = auth.RoleUser
	roleAdmin   = auth.RoleAdmin
	roleTrigger = auth.RoleTrigger
)

// envelope is every /api/v1 answer.
type envelope struct {
	Success   bool   `json:"success"`
	Data      any    `json:"data"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

func writeJSON(w http.ResponseWriter, st int, data any, msg string) {
	b, err := json.Marshal(envelope{Success: st < 400, Data: data, Message: msg, Timestamp: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		st = http.StatusInternalServerError
		b = []byte(`{"success":false,"data":null,"message":"could not encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	w.Write(b)
}

func apiError(w http.ResponseWriter, r *http.Request, st int, msg string) {
	writeJSON(w, st, nil, msg)
}

// apiFail maps err to a JSON error, logging internal ones.
func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "api request failed", "err", err, "method", r.Method, "path", r.URL.Path)
	}
	if p := problem.As(err); p != nil && p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())+1))
	}
	if st == 499 {
		return
	}
	apiError(w, r, st, message(err))
}

func keyOf(r *http.Request) auth.KeyIdentity {
	k, _ := r.Context().Value(ctxKeyIdentity).(auth.KeyIdentity)
	return k
}

// apiAuth checks the bearer key and applies its role's rate limit.
func (h *Handler) apiAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(hdr, "Bearer ")
		if !ok || len(hdr) > 200 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waddle"`)
			apiError(w, r, http.StatusUnauthorized, "Send an API key as Authorization: Bearer <key>.")
			return
		}
		k, err := h.auth.AuthenticateAPIKey(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			if status(err) == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="waddle", error="invalid_token"`)
			}
			h.apiFail(w, r, err)
			return
		}
		if limit := h.cfg.APIRateLimits[k.Role]; limit > 0 {
			res := h.cfg.Limiter.Take(r.Context(), "api:key:"+strconv.FormatInt(k.KeyID, 10), limit, time.Minute)
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-res.Count, 0)))
			if !res.Allowed {
				h.apiFail(w, r, &problem.Error{Code: problem.TooMany, RetryAfter: res.RetryAfter,
					Message: "Rate limit of " + strconv.Itoa(limit) + " requests a minute for " + k.Role + " keys reached."})
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKeyIdentity, k)))
	})
}

// apiRoles lets only keys of the given roles through.
func (h *Handler) apiRoles(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := keyOf(r)
			for _, role := range roles {
				if k.Role == role {
					next.ServeHTTP(w, r)
					return
				}
			}
			apiError(w, r, http.StatusForbidden, "A "+k.Role+" key may not call this route; it needs a key with role "+strings.Join(roles, " or ")+".")
		})
	}
}

// apiUser is the account a key acts as. Admin keys, and the trigger and
// action keys of global admins (installation-wide, or bound to one community
// by apiInCommunity), keep their owner's global admin powers; user and core
// keys act as a plain member even for a global admin.
func (h *Handler) apiUser(r *http.Request) (auth.User, error) {
	k := keyOf(r)
	u, err := h.auth.User(r.Context(), k.UserID)
	if err != nil {
		return auth.User{}, err
	}
	u.IsAdmin = u.IsAdmin && (k.Role == roleAdmin || auth.CommunityRole(k.Role))
	return u, nil
}

// apiInCommunity puts the key owner and their membership of community cid in
// the request's context. Non-members, and keys of another community, get
// community.ErrNotFound, as for a community that does not exist.
func (h *Handler) apiInCommunity(r *http.Request, cid int64) (*http.Request, error) {
	if k := keyOf(r); k.CommunityID != 0 && k.CommunityID != cid {
		return r, community.ErrNotFound
	}
	u, err := h.apiUser(r)
	if err != nil {
		return r, err
	}
	m, err := h.comm.Access(r.Context(), u, cid)
	if err != nil {
		return r, err
	}
	ctx := context.WithValue(r.Context(), ctxMembership, m)
	return r.WithContext(context.WithValue(ctx, ctxUser, u)), nil
}

func (h *Handler) apiCommunityAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cid, err := pathID(r, "cid")
		if err != nil {
			h.apiFail(w, r, community.ErrNotFound)
			return
		}
		r, err = h.apiInCommunity(r, cid)
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiMeJSON struct {
	UserID      int64  `json:"user_id"`
	Email       string `json:"email"`
	Role        string `json:"role"`
	KeyID       int64  `json:"key_id"`
	IsAdmin     bool   `json:"is_admin"`
	CommunityID *int64 `json:"community_id"` // the only community the key reaches; null: not bound to one
}

func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request) {
	k := keyOf(r)
	me := apiMeJSON{UserID: k.UserID, Email: k.Email, Role: k.Role, KeyID: k.KeyID, IsAdmin: k.IsAdmin && k.Role == roleAdmin}
	if k.CommunityID != 0 {
		me.CommunityID = &k.CommunityID
	}
	writeJSON(w, http.StatusOK, me, "")
}

type communityJSON struct {
	ID          int64  `json:"id"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Role        string `json:"role"`
}

func toCommunityJSON(m community.Membership) communityJSON {
	return communityJSON{ID: m.ID, Slug: m.Slug, Name: m.Name, Description: m.Description, Role: string(m.Role)}
}

func (h *Handler) apiCommunities(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	cs, err := h.comm.ListForUser(r.Context(), u)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]communityJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toCommunityJSON(c))
	}
	writeJSON(w, http.StatusOK, out, "")
}

func (h *Handler) apiCommunity(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toCommunityJSON(membershipOf(r)), "")
}

type memberJSON struct {
	UserID      int64     `json:"user_id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Since       time.Time `json:"since"`
}

func toMemberJSON(m community.MemberInfo) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, DisplayName: m.DisplayName, Role: string(m.Role), Since: m.Since}
}

func (h *Handler) apiMembers(w http.ResponseWriter, r *http.Request) {
	ms, err := h.comm.Members(r.Context(), membershipOf(r).ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMemberJSON(m))
	}
	writeJSON(w, http.StatusOK, out, "")
}

// maxJSONBytes bounds every API request body.
const maxJSONBytes = 64 << 10

// decodeJSON reads one JSON object into v, strictly and size-limited.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return problem.New(problem.Invalid, "Send the body as application/json.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return problem.New(problem.Invalid, "The body is too large (at most 64 KiB).")
		case errors.Is(err, io.EOF):
			return problem.New(problem.Invalid, "The body is empty: send a JSON object.")
		}
		return problem.JSON(err, "body")
	}
	if dec.More() {
		return problem.New(problem.Invalid, "Send one JSON object only.")
	}
	return nil
}

type inviteJSON struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (h *Handler) apiActor(r *http.Request) community.Actor {
	u, _ := userOf(r)
	return community.Actor{User: u, Role: membershipOf(r).Role, IP: ipOf(r)}
}

func (h *Handler) apiInvite(w http.ResponseWriter, r *http.Request) {
	var in inviteJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Email == "" {
		h.apiFail(w, r, problem.Invalidf("email", "The field \"email\" is required."))
		return
	}
	if in.Role == "" {
		in.Role = string(community.Member)
	}
	role, err := community.ParseRole("role", in.Role)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res, err := h.comm.Invite(r.Context(), h.apiActor(r), membershipOf(r).Community, in.Email, role)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	msg := "Invitation mailed."
	if res.Added {
		msg = "The address already had an account and is now a member."
	}
	writeJSON(w, http.StatusCreated, map[string]any{"email": res.Email, "added": res.Added}, msg)
}

type roleJSON struct {
	Role string `json:"role"`
}

func (h *Handler) apiChangeRole(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "uid")
	if err != nil {
		h.apiFail(w, r, community.ErrMemberNotFound)
		return
	}
	var in roleJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	role, err := community.ParseRole("role", in.Role)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	m, err := h.comm.ChangeRole(r.Context(), h.apiActor(r), membershipOf(r).ID, uid, role)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMemberJSON(m), "")
}

func (h *Handler) apiRemoveMember(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "uid")
	if err != nil {
		h.apiFail(w, r, community.ErrMemberNotFound)
		return
	}
	if err := h.comm.RemoveMember(r.Context(), h.apiActor(r), membershipOf(r).ID, uid); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Member removed.")
}

type auditJSON struct {
	ID        int64           `json:"id"`
	Actor     string          `json:"actor"`
	ActorName string          `json:"actor_name,omitempty"` // a chat user, or how a hub user acted (the simulator)
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	IP        string          `json:"ip"`
	At        time.Time       `json:"at"`
	Before    json.RawMessage `json:"before,omitempty"` // the state before the change; secrets as "(set)" or "(changed)"
	After     json.RawMessage `json:"after,omitempty"`
	Changes   []string        `json:"changes,omitempty"` // "field: old → new", as the audit page shows them
}

func (h *Handler) apiAudit(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		h.apiFail(w, r, community.ErrNotAllowed)
		return
	}
	f, _, err := parseAuditFilter(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	f.Limit = auditPageSize
	items, err := h.cfg.Audit.ListCommunity(r.Context(), m.ID, f)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]auditJSON, 0, len(items))
	for _, it := range items {
		j := auditJSON{ID: it.ID, Actor: it.ActorEmail, ActorName: it.ActorName, Action: it.Action, Target: it.Target, IP: it.IP, At: it.At,
			Before: it.Before, After: it.After}
		for _, c := range it.Changes() {
			j.Changes = append(j.Changes, c.String())
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out, "")
}
