package demo

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is the work factor of the demo users' password hashes. The
// demo passwords are published in the README, so a slow hash protects
// nothing; the minimum keeps "demo" starting instantly (and tests fast).
// Passwords users set themselves get bcrypt.DefaultCost.
var bcryptCost = bcrypt.MinCost

func hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// digestHA1 returns HA1 = H(username ":" realm ":" password) with MD5
// (RFC 2617 §3.2.2.2) and SHA-256 (RFC 7616 §3.4.2), hex-encoded.
func digestHA1(username, realm, password string) (md5Hex, sha256Hex string) {
	a1 := username + ":" + realm + ":" + password
	m := md5.Sum([]byte(a1))
	s := sha256.Sum256([]byte(a1))
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}
