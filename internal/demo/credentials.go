package demo

import (
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
