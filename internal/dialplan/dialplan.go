// Package dialplan validates dialled strings and normalises numbers (T12),
// and will hold dial plans, IVR menus and schedules (T11).
//
// Errors say why a number was refused but do not repeat it: numbers are
// personal data and errors end up in logs. The caller, who has the
// number, decides whether to show it.
package dialplan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidNumber means a dialled string is not a usable number.
var ErrInvalidNumber = errors.New("invalid number")

// invalid returns an error wrapping ErrInvalidNumber.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidNumber, fmt.Sprintf(format, args...))
}

// Digit bounds for Clean (T12): fewer than 3 is no number we route (short
// feature codes aside); more than 14 is longer than any national number
// plus prefix we dial.
const (
	cleanMinDigits = 3
	cleanMaxDigits = 14
)

// trimTel removes surrounding space and a "tel:" URI scheme (RFC 3966),
// which click-to-dial links and pasted numbers often carry.
func trimTel(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = strings.TrimSpace(s[4:])
	}
	return s
}

// afterCountryPrefix reports whether digits (without any '+') follow an
// international prefix and at least one digit of the country code. A "(0)"
// there is the national trunk prefix printed for domestic callers and is
// not dialled: "+31 (0)20 123 0001" is +31201230001.
func afterCountryPrefix(plus bool, digits []byte) bool {
	if plus {
		return len(digits) > 0
	}
	return len(digits) > 2 && digits[0] == '0' && digits[1] == '0'
}

// Clean validates a dialled string (T12): it keeps digits and + # * : ,
// strips every other character (spaces, dashes, dots, brackets, letters),
// and requires 3 to 14 digits in what remains ('+' only first). The error
// wraps ErrInvalidNumber and says why.
//
// Details: a '+' anywhere but first is an error rather than stripped, since
// it means two numbers were run together or one was mangled, and dialling a
// guess reaches a stranger. A leading "tel:" is dropped, and so is "(0)"
// after an international prefix ("+31 (0)20 123 0001" dials +31201230001).
// Letters are stripped, not translated: "0800-FLOWERS" keeps only "0800".
// Only ASCII digits count.
func Clean(dialled string) (string, error) {
	s := trimTel(dialled)
	out := make([]byte, 0, len(s))
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			out = append(out, c)
			digits++
		case c == '+':
			if len(out) != 0 {
				return "", invalid("'+' is only allowed as the first character")
			}
			out = append(out, c)
		case c == '#' || c == '*' || c == ':' || c == ',':
			out = append(out, c)
		case c == '(' && strings.HasPrefix(s[i:], "(0)") &&
			len(out) > 0 && afterCountryPrefix(out[0] == '+', bytes.TrimPrefix(out, []byte("+"))):
			i += len("(0)") - 1
		}
		// Anything else, including each byte of a multi-byte rune, is
		// formatting and stripped.
	}
	switch {
	case digits < cleanMinDigits:
		return "", invalid("%d digits, need at least %d", digits, cleanMinDigits)
	case digits > cleanMaxDigits:
		return "", invalid("%d digits, at most %d allowed", digits, cleanMaxDigits)
	}
	return string(out), nil
}
