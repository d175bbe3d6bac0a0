package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAuthTokens(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	u, err := st.CreateUser(ctx, User{Username: "ann", Role: RoleAgent, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	sess, err := st.CreateAuthToken(ctx, AuthToken{TokenHash: "h1", UserID: u.ID, Kind: TokenSession, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := st.CreateAuthToken(ctx, AuthToken{TokenHash: "h2", UserID: u.ID, Kind: TokenAPI, Name: "script", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.AuthTokenByHash(ctx, "h1", now)
	if err != nil || got.ID != sess.ID || got.Kind != TokenSession || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := st.AuthTokenByHash(ctx, "h1", now.Add(2*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session found: %v", err)
	}
	if got, err := st.AuthTokenByHash(ctx, "h2", now.Add(1000*time.Hour)); err != nil || !got.ExpiresAt.IsZero() {
		t.Fatalf("API token without expiry: %+v %v", got, err)
	}
	if err := st.TouchAuthToken(ctx, sess.ID, now.Add(90*time.Minute), now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthTokenByHash(ctx, "h1", now.Add(2*time.Hour)); err != nil {
		t.Fatalf("touched session expired: %v", err)
	}
	if _, err := st.CreateAuthToken(ctx, AuthToken{TokenHash: "h2", UserID: u.ID, Kind: TokenAPI}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate hash: %v", err)
	}
	if _, err := st.CreateAuthToken(ctx, AuthToken{TokenHash: "h3", UserID: u.ID, Kind: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	list, err := st.AuthTokens(ctx, u.ID, TokenAPI)
	if err != nil || len(list) != 1 || list[0].Name != "script" {
		t.Fatalf("api tokens: %+v %v", list, err)
	}
	if err := st.DeleteUserAuthToken(ctx, u.ID+1, api.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting another user's token: %v", err)
	}
	if err := st.DeleteUserAuthToken(ctx, u.ID, api.ID); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteExpiredAuthTokens(ctx, now.Add(10*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("expired deleted: %d %v", n, err)
	}
	if err := st.DeleteAuthToken(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete gone session: %v", err)
	}
	if got, err := st.UserByID(ctx, u.ID); err != nil || got.Username != "ann" {
		t.Fatalf("UserByID: %+v %v", got, err)
	}
}

func TestExtensionsOfUser(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	ann, _ := st.CreateUser(ctx, User{Username: "ann", Role: RoleAgent})
	bob, _ := st.CreateUser(ctx, User{Username: "bob", Role: RoleAgent})
	for _, e := range []Extension{{Number: "1002", UserID: ann.ID}, {Number: "1001", UserID: ann.ID}, {Number: "1003", UserID: bob.ID}, {Number: "1004"}} {
		e.HA1, e.HA1SHA256, e.Realm = "a", "b", "r"
		if _, err := st.CreateExtension(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := st.ExtensionsOfUser(ctx, ann.ID)
	if err != nil || len(es) != 2 || es[0].Number != "1001" || es[1].Number != "1002" {
		t.Fatalf("ann's extensions: %+v %v", es, err)
	}
	if es, _ := st.ExtensionsOfUser(ctx, 999); len(es) != 0 {
		t.Fatalf("unknown user has %d", len(es))
	}
}
