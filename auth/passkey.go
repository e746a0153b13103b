package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Passkeys are WebAuthn credentials bound to the hub's host (the RP ID is
// BASE_URL's host name; the only accepted origin is BASE_URL's origin). They
// serve as a second factor after the password, and alone as a passwordless
// sign-in, which then requires user verification (a PIN or biometric), so the
// passkey is two factors in itself. Between a ceremony's two requests its
// state (challenge, user, expiry) lives server-side in the caller's session
// and is used once.

// ceremonyTimeout bounds a ceremony, in the browser and on the server.
const ceremonyTimeout = 5 * time.Minute

type passkeyConfig struct {
	wa   *webauthn.WebAuthn // nil: passkeys are off (BASE_URL's host is an IP address)
	rpID string             // BASE_URL's host name
	off  error              // why wa is nil
}

func newPasskeyConfig(baseURL string) passkeyConfig {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return passkeyConfig{off: fmt.Errorf("BASE_URL %q has no host", baseURL)}
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout, TimeoutUVD: ceremonyTimeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "Waddle",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired, // a passkey can be found without an email
			UserVerification: protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		// An IP address is no RP ID: browsers refuse it. Use a host name (localhost works).
		return passkeyConfig{rpID: u.Hostname(), off: fmt.Errorf("BASE_URL's host %q is no WebAuthn relying party id (an IP address? use a host name; localhost works): %w", u.Hostname(), err)}
	}
	return passkeyConfig{wa: wa, rpID: u.Hostname()}
}

// PasskeysOff says why passkeys are unavailable, or nil when they work; the
// server logs it at start.
func (s *Service) PasskeysOff() error { return s.passkey.off }

var errPasskeysOff = problem.New(problem.Conflict, "Passkeys are not available on this hub: its BASE_URL is an IP address, not a host name.")

// errPasskeyFailed is the answer for any response that does not verify.
var errPasskeyFailed = problem.New(problem.Invalid, "The passkey could not be verified. Try again, or use another way to sign in.")

// Passkey is one registered passkey, as the account page lists it.
type Passkey struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Ceremony kinds: a state made for one cannot finish another.
const (
	ceremonyRegister     = "register"
	ceremonySecondFactor = "second-factor"
	ceremonySignIn       = "sign-in"
)

type ceremonyState struct {
	Kind   string               `json:"kind"`
	UserID int64                `json:"uid,omitempty"`
	Data   webauthn.SessionData `json:"data"`
}

func (s *Service) openCeremony(state []byte, kind string, userID int64) (webauthn.SessionData, error) {
	var st ceremonyState
	if len(state) == 0 || json.Unmarshal(state, &st) != nil || st.Kind != kind || st.UserID != userID {
		return webauthn.SessionData{}, problem.New(problem.Invalid, "This passkey request has expired or was already used. Try again.")
	}
	return st.Data, nil
}

func sealCeremony(kind string, userID int64, data *webauthn.SessionData, options any) ([]byte, []byte, error) {
	state, err := json.Marshal(ceremonyState{Kind: kind, UserID: userID, Data: *data})
	if err != nil {
		return nil, nil, fmt.Errorf("encode ceremony state: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("encode ceremony options: %w", err)
	}
	return opts, state, nil
}

// passkeyUser is an account as go-webauthn sees it.
type passkeyUser struct {
	id      int64
	handle  []byte
	name    string
	display string
	creds   []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.display }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadPasskeyUser loads the account's handle (made on first use when create)
// and its credentials for this RP ID.
func (s *Service) loadPasskeyUser(ctx context.Context, q *db.Queries, u User, create bool) (*passkeyUser, error) {
	var handle []byte
	var err error
	if create {
		h := make([]byte, 32)
		rand.Read(h)
		handle, err = q.WebAuthnHandleEnsure(ctx, db.WebAuthnHandleEnsureParams{UserID: u.ID, Handle: h})
	} else {
		handle, err = q.WebAuthnHandleGet(ctx, u.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("load passkey handle: %w", err)
	}
	rows, err := q.PasskeyListByUser(ctx, db.PasskeyListByUserParams{UserID: u.ID, RpID: s.passkey.rpID})
	if err != nil {
		return nil, fmt.Errorf("load passkeys: %w", err)
	}
	pu := &passkeyUser{id: u.ID, handle: handle, name: u.Email, display: u.Name()}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Credential, &c); err != nil {
			return nil, fmt.Errorf("decode passkey %d: %w", r.ID, err)
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, nil
}

// ValidatePasskeyName checks the name a person gives a passkey.
func ValidatePasskeyName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", problem.Invalidf(field, "Give the passkey a name, such as the device it is on.")
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", problem.Invalidf(field, "The name contains characters that are not allowed.")
	case utf8.RuneCountInString(name) > 100:
		return "", problem.Invalidf(field, "A passkey name has at most 100 characters.")
	}
	return name, nil
}

// BeginPasskeyRegistration starts adding a passkey to u's account. It returns
// the options for navigator.credentials.create (JSON) and the state to keep
// server-side until FinishPasskeyRegistration.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u User) (options, state []byte, err error) {
	if s.passkey.wa == nil {
		return nil, nil, errPasskeysOff
	}
	pu, err := s.loadPasskeyUser(ctx, db.New(s.pool), u, true)
	if err != nil {
		return nil, nil, err
	}
	creation, data, err := s.passkey.wa.BeginRegistration(pu, webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	return sealCeremony(ceremonyRegister, u.ID, data, creation)
}

// FinishPasskeyRegistration verifies the browser's response and stores the
// passkey under name. The account's first second factor brings ten recovery
// codes, returned to be shown once.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, u User, state []byte, name string, response []byte, ip string) (Passkey, []string, error) {
	if s.passkey.wa == nil {
		return Passkey{}, nil, errPasskeysOff
	}
	name, err := ValidatePasskeyName("name", name)
	if err != nil {
		return Passkey{}, nil, err
	}
	data, err := s.openCeremony(state, ceremonyRegister, u.ID)
	if err != nil {
		return Passkey{}, nil, err
	}
	var pk Passkey
	var codes []string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		pu, err := s.loadPasskeyUser(ctx, q, u, false)
		if err != nil {
			return err
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
		if err != nil {
			return s.passkeyRefused(ctx, "parse registration", err)
		}
		cred, err := s.passkey.wa.CreateCredential(pu, data, parsed)
		if err != nil {
			return s.passkeyRefused(ctx, "verify registration", err)
		}
		blob, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		row, err := q.PasskeyInsert(ctx, db.PasskeyInsertParams{UserID: u.ID, RpID: s.passkey.rpID, Name: name, CredentialID: cred.ID, Credential: blob})
		if db.IsUniqueViolation(err) {
			return problem.New(problem.Conflict, "This passkey is already registered.")
		}
		if err != nil {
			return err
		}
		pk = toPasskey(row)
		if err := s.recordFactorChange(ctx, tx, u.ID, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorEnabled, Target: targetPasskeyPrefix + name}); err != nil {
			return err
		}
		codes, err = s.ensureRecoveryCodes(ctx, tx, u, ip)
		return err
	})
	if err != nil {
		return Passkey{}, nil, fmt.Errorf("finish passkey registration: %w", err)
	}
	return pk, codes, nil
}

func (s *Service) passkeyRefused(ctx context.Context, step string, err error) error {
	msg := err.Error()
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		msg += ": " + pe.DevInfo
	}
	s.logger.InfoContext(ctx, "passkey refused", "step", step, "err", msg)
	return errPasskeyFailed
}

func toPasskey(r db.UserPasskey) Passkey {
	return Passkey{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}

// Passkeys lists the account's passkeys for this hub, oldest first.
func (s *Service) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := db.New(s.pool).PasskeyListByUser(ctx, db.PasskeyListByUserParams{UserID: userID, RpID: s.passkey.rpID})
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	out := make([]Passkey, 0, len(rows))
	for _, r := range rows {
		out = append(out, toPasskey(r))
	}
	return out, nil
}

// RemovePasskey deletes one of u's passkeys after the password is checked again.
func (s *Service) RemovePasskey(ctx context.Context, u User, id int64, password, ip string) error {
	if err := s.CheckPassword(ctx, u, password, ip); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		name, err := q.PasskeyDelete(ctx, db.PasskeyDeleteParams{ID: id, UserID: u.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "No such passkey.")
		}
		if err != nil {
			return err
		}
		if err := s.afterRemoval(ctx, q, u.ID); err != nil {
			return err
		}
		left, err := loadFactorsLeft(ctx, q, u.ID, s.passkey.rpID)
		if err != nil {
			return err
		}
		return s.recordFactorChange(ctx, tx, u.ID, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorRemoved, Target: targetPasskeyPrefix + name, After: left})
	})
	if err != nil && problem.As(err) == nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	return err
}

// BeginPasskeySecondFactor starts the passkey step of the sign-in of the
// account userID (whose password was right), offering its passkeys.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, userID int64, sessionVersion int32) (options, state []byte, err error) {
	if s.passkey.wa == nil {
		return nil, nil, errPasskeysOff
	}
	u, err := s.pendingUser(ctx, userID, sessionVersion)
	if err != nil {
		return nil, nil, err
	}
	pu, err := s.loadPasskeyUser(ctx, db.New(s.pool), u, false)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && len(pu.creds) == 0) {
		return nil, nil, problem.New(problem.Conflict, "Your account has no passkey on this hub.")
	}
	if err != nil {
		return nil, nil, err
	}
	assertion, data, err := s.passkey.wa.BeginLogin(pu)
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return sealCeremony(ceremonySecondFactor, u.ID, data, assertion)
}

// FinishPasskeySecondFactor verifies the passkey step and returns the account,
// now signed in. Attempts are throttled like codes; failures are recorded.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, userID int64, sessionVersion int32, state, response []byte, ip string) (User, error) {
	if s.passkey.wa == nil {
		return User{}, errPasskeysOff
	}
	u, err := s.pendingUser(ctx, userID, sessionVersion)
	if err != nil {
		return User{}, err
	}
	data, err := s.openCeremony(state, ceremonySecondFactor, u.ID)
	if err != nil {
		return User{}, err
	}
	t, err := s.takeFactorAttempt(ctx, u.ID, ip)
	if err != nil {
		return User{}, err
	}
	q := db.New(s.pool)
	pu, err := s.loadPasskeyUser(ctx, q, u, false)
	if err != nil {
		return User{}, err
	}
	verr := s.verifyAssertion(ctx, q, data, response, func(parsed *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
		return s.passkey.wa.ValidateLogin(pu, data, parsed)
	}, u.ID)
	if verr != nil {
		if err := audit.Record(ctx, s.pool, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorFailed, Target: "passkey"}); err != nil {
			return User{}, err
		}
		s.failed(ctx, t)
		return User{}, verr
	}
	s.passed(ctx, t)
	if err := audit.Record(ctx, s.pool, actorOf(u, ip), audit.Entry{Action: audit.SignIn, Target: "passkey"}); err != nil {
		return User{}, err
	}
	return u, nil
}

// BeginPasskeySignIn starts a passwordless sign-in: the browser offers the
// passkeys it holds for this hub, and the one chosen names its account.
func (s *Service) BeginPasskeySignIn() (options, state []byte, err error) {
	if s.passkey.wa == nil {
		return nil, nil, errPasskeysOff
	}
	assertion, data, err := s.passkey.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return sealCeremony(ceremonySignIn, 0, data, assertion)
}

// FinishPasskeySignIn verifies a passwordless sign-in and returns its account.
func (s *Service) FinishPasskeySignIn(ctx context.Context, state, response []byte, ip string) (User, error) {
	data, err := s.openCeremony(state, ceremonySignIn, 0)
	if err != nil {
		return User{}, err
	}
	if s.passkey.wa == nil {
		return User{}, errPasskeysOff
	}
	if r := s.limiter.Take(ctx, "2fa:ip:"+ip, ipRefuse, failWindow); !r.Allowed {
		return User{}, lockedOutFactor(r.RetryAfter)
	}
	q := db.New(s.pool)
	var u User
	verr := s.verifyAssertion(ctx, q, data, response, func(parsed *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
		return s.passkey.wa.ValidateDiscoverableLogin(func(_, handle []byte) (webauthn.User, error) {
			id, err := q.WebAuthnUserByHandle(ctx, handle)
			if err != nil {
				return nil, fmt.Errorf("find passkey owner: %w", err)
			}
			if u, err = s.User(ctx, id); err != nil {
				return nil, err
			}
			return s.loadPasskeyUser(ctx, q, u, false)
		}, data, parsed)
	}, 0)
	if verr != nil {
		actor := audit.Actor{IP: ip}
		if u.ID != 0 {
			actor = actorOf(u, ip)
		}
		if err := audit.Record(ctx, s.pool, actor, audit.Entry{Action: audit.SignInFailed, Target: "passkey"}); err != nil {
			return User{}, err
		}
		return User{}, verr
	}
	if err := audit.Record(ctx, s.pool, actorOf(u, ip), audit.Entry{Action: audit.SignIn, Target: "passkey"}); err != nil {
		return User{}, err
	}
	return u, nil
}

// verifyAssertion parses response, validates it with validate, refuses a
// credential that looks cloned, and stores its new sign count.
func (s *Service) verifyAssertion(ctx context.Context, q *db.Queries, data webauthn.SessionData, response []byte,
	validate func(*protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error), userID int64) error {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return s.passkeyRefused(ctx, "parse assertion", err)
	}
	cred, err := validate(parsed)
	if err != nil {
		return s.passkeyRefused(ctx, "verify assertion", err)
	}
	if cred.Authenticator.CloneWarning {
		return s.passkeyRefused(ctx, "sign count", errors.New("the passkey's sign count went back: it may have been copied"))
	}
	if userID == 0 {
		if userID, err = q.WebAuthnUserByHandle(ctx, parsed.Response.UserHandle); err != nil {
			return fmt.Errorf("find passkey owner: %w", err)
		}
	}
	blob, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("encode passkey: %w", err)
	}
	if err := q.PasskeyUpdateUsed(ctx, db.PasskeyUpdateUsedParams{UserID: userID, CredentialID: cred.ID, Credential: blob}); err != nil {
		return fmt.Errorf("store passkey use: %w", err)
	}
	return nil
}
