package desk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sportello/sportello/bot"
)

// Role is what a staff account may do.
type Role string

const (
	// RoleStaff works the tickets and appointments of their desks.
	RoleStaff Role = "staff"
	// RoleModerator (community moderators, cultural mediators) works the tickets of their desks
	// but not the appointment calendar.
	RoleModerator Role = "moderator"
	// RoleAdmin sees every desk and manages calendar feeds.
	RoleAdmin Role = "admin"
)

// Roles lists the valid roles.
var Roles = []Role{RoleStaff, RoleModerator, RoleAdmin}

// Account is a person who signs in to the staff console.
type Account struct {
	Name     string    `json:"name"`              // login name
	Display  string    `json:"display,omitempty"` // shown to colleagues, never to users
	Role     Role      `json:"role"`
	Desks    []string  `json:"desks,omitempty"` // the desks whose tickets the account sees (admins: all)
	Lang     string    `json:"lang,omitempty"`  // the console's language for this person
	Hash     string    `json:"hash"`
	Created  time.Time `json:"created"`
	Disabled bool      `json:"disabled,omitempty"`
}

// CanAccess reports whether the account may see a desk's tickets and appointments.
func (a *Account) CanAccess(desk string) bool {
	if a == nil || a.Disabled {
		return false
	}
	return a.Role == RoleAdmin || slices.Contains(a.Desks, desk)
}

// CanBook reports whether the account may manage appointments and slots of a desk.
func (a *Account) CanBook(desk string) bool {
	return a.CanAccess(desk) && (a.Role == RoleStaff || a.Role == RoleAdmin)
}

// Who is the name shown to colleagues.
func (a *Account) Who() string {
	if a.Display != "" {
		return a.Display
	}
	return a.Name
}

func keyAccount(name string) string { return "desk:staff:" + name }

const keyAccounts = "desk:staff-index"

// ValidAccountName reports whether name can be a login: 2-40 lowercase letters, digits, '.', '_' or '-'.
func ValidAccountName(name string) bool {
	if len(name) < 2 || len(name) > 40 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// MinPassword is the shortest password accepted.
const MinPassword = 10

// AddAccount creates (or with replace, replaces) an account with the password.
func (s *Service) AddAccount(ctx context.Context, a Account, password string, replace bool) error {
	a.Name = strings.ToLower(strings.TrimSpace(a.Name))
	if !ValidAccountName(a.Name) {
		return fmt.Errorf("%w: the name must be 2-40 lowercase letters, digits, '.', '_' or '-'", ErrInvalid)
	}
	if !slices.Contains(Roles, a.Role) {
		return fmt.Errorf("%w: role must be staff, moderator or admin", ErrInvalid)
	}
	if a.Role != RoleAdmin && len(a.Desks) == 0 {
		return fmt.Errorf("%w: staff and moderators need at least one desk", ErrInvalid)
	}
	for _, d := range a.Desks {
		if _, ok := s.offices[d]; !ok {
			return fmt.Errorf("%w: unknown desk %q (known: %s)", ErrInvalid, d, strings.Join(s.order, ", "))
		}
	}
	if len([]rune(password)) < MinPassword {
		return fmt.Errorf("%w: the password needs at least %d characters", ErrInvalid, MinPassword)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	a.Hash, a.Created = hash, s.clock.Now()
	raw, err := jsonBytes(a)
	if err != nil {
		return err
	}
	if replace {
		err = s.store.Put(ctx, keyAccount(a.Name), raw, 0)
	} else {
		var ok bool
		ok, err = s.store.PutIfAbsent(ctx, keyAccount(a.Name), raw, 0)
		if err == nil && !ok {
			return fmt.Errorf("%w: account %q exists", ErrInvalid, a.Name)
		}
	}
	if err != nil {
		return fmt.Errorf("save account: %w", err)
	}
	return s.store.IndexAdd(ctx, keyAccounts, a.Name, 0)
}

// Account returns an account by name.
func (s *Service) Account(ctx context.Context, name string) (*Account, error) {
	if !ValidAccountName(name) {
		return nil, ErrNotFound
	}
	var a Account
	if err := s.getJSON(ctx, keyAccount(name), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Accounts lists every account.
func (s *Service) Accounts(ctx context.Context) ([]*Account, error) {
	entries, err := s.store.IndexRange(ctx, keyAccounts, math.Inf(-1), math.Inf(1), 0)
	if err != nil {
		return nil, err
	}
	var out []*Account
	for _, e := range entries {
		if a, err := s.Account(ctx, e.Member); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// RemoveAccount deletes an account.
func (s *Service) RemoveAccount(ctx context.Context, name string) error {
	if _, err := s.Account(ctx, name); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, keyAccount(name)); err != nil {
		return err
	}
	_, err := s.store.IndexRemove(ctx, keyAccounts, name)
	return err
}

// Authenticate checks a login. Unknown names cost as much time as wrong passwords.
func (s *Service) Authenticate(ctx context.Context, name, password string) (*Account, error) {
	a, err := s.Account(ctx, strings.ToLower(strings.TrimSpace(name)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if a == nil || a.Disabled {
		CheckPassword(dummyHash, password)
		return nil, ErrForbidden
	}
	if !CheckPassword(a.Hash, password) {
		return nil, ErrForbidden
	}
	return a, nil
}

// argon2id parameters (OWASP: 19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

var dummyHash, _ = HashPassword("not a password of anyone")

// HashPassword hashes a password with argon2id, in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ---- login throttling ----

// LoginLimits bound failed logins per account name and per client address.
var LoginLimits = struct {
	PerName, PerClient int
	Window             time.Duration
}{PerName: 5, PerClient: 20, Window: 15 * time.Minute}

func loginKeys(name, client string) []string {
	return []string{"desk:login-fail:name:" + strings.ToLower(name), "desk:login-fail:client:" + client}
}

// LoginThrottled reports whether logins for name or from client are paused after failures.
func (s *Service) LoginThrottled(ctx context.Context, name, client string) (bool, error) {
	keys := loginKeys(name, client)
	limits := []int{LoginLimits.PerName, LoginLimits.PerClient}
	for i, k := range keys {
		raw, err := s.store.Get(ctx, k)
		if errors.Is(err, bot.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		var n int
		fmt.Sscanf(string(raw), "%d", &n)
		if n >= limits[i] {
			return true, nil
		}
	}
	return false, nil
}

// LoginFailed counts a failed login.
func (s *Service) LoginFailed(ctx context.Context, name, client string) {
	for _, k := range loginKeys(name, client) {
		if _, err := s.store.Incr(ctx, k, LoginLimits.Window); err != nil {
			s.log.Warn("login failure not counted", "err", err)
		}
	}
}

// LoginSucceeded clears the failures of a name.
func (s *Service) LoginSucceeded(ctx context.Context, name string) {
	_ = s.store.Delete(ctx, loginKeys(name, "")[0])
}
