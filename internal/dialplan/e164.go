package dialplan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// E.164 §6.1: at most 15 digits; fewer than 8 is no complete international
// number in any plan we route to.
const (
	e164MinDigits = 8
	e164MaxDigits = 15
)

// keepsTrunkZero lists country codes whose numbers keep their leading 0
// internationally (Italy's "06 …" is "+39 06 …"), so E164 must not strip it.
var keepsTrunkZero = map[string]bool{
	"39":  true, // Italy
	"378": true, // San Marino
}

// noTrunkPrefix lists country codes whose national numbers have no trunk
// prefix and never start with 0, so a national number is written without
// one: "612 345 678" in Spain is "+34 612 345 678".
var noTrunkPrefix = map[string]bool{
	"30":  true, // Greece
	"34":  true, // Spain
	"45":  true, // Denmark
	"47":  true, // Norway
	"351": true, // Portugal
	"352": true, // Luxembourg
	"354": true, // Iceland
	"356": true, // Malta
	"357": true, // Cyprus
}

// E164 normalises a number to E.164 ("+" and 8–15 digits): "+31 20 123 0001",
// "0031201230001" (IDD 00), "011 1 212 555 1234" (US IDD), "020 1230001"
// (national, trunk prefix 0, with countryCode "31") and, for countryCode "1",
// 10-digit NANP numbers "(212) 555-1234". The error wraps ErrInvalidNumber.
//
// The rules, in order:
//   - Spaces, tabs, '-', '.', '/', brackets and a leading "tel:" are
//     formatting; "(0)" after an international prefix is dropped. Any other
//     character (a letter, '*', '#', ',') makes it no plain number: an error,
//     since guessing a vanity number's digits or dropping a DTMF suffix would
//     dial something else.
//   - "+" starts an international number.
//   - "011" is the NANP IDD: always with countryCode "1"; with another
//     country code only when a complete NANP number follows (0111 NXX NXX
//     XXXX, 14 digits — too long for a national number starting 011 in the
//     plans we serve, like Zierikzee's "0111 …" in the Netherlands or Leeds's
//     "0113 …" in the UK, which stay national).
//   - "00" is the IDD used by most of the world (for countryCode "1" too,
//     where no national number starts with 0).
//   - Another leading "0" is the national trunk prefix: it is replaced by
//     countryCode (kept after it for Italy and San Marino).
//   - With countryCode "1", 10 digits are a NANP number and 11 digits
//     starting with 1 one with its country code; in countries without a
//     trunk prefix (Spain, Denmark, …) digits are a national number.
//     Elsewhere a number without any prefix is ambiguous and refused.
//
// NANP numbers (+1) must have 10 digits after the 1, with area code and
// exchange starting 2–9.
func E164(number, countryCode string) (string, error) {
	digits, plus, err := plainDigits(number)
	if err != nil {
		return "", err
	}
	if len(digits) == 0 {
		return "", invalid("no digits")
	}

	var intl string // the number after the international prefix: CC + NSN
	switch {
	case plus:
		intl = digits
	case countryCode == "1" && strings.HasPrefix(digits, "011"):
		intl = digits[3:]
	case strings.HasPrefix(digits, "0111") && len(digits) == 14 && isNANP(digits[4:]):
		intl = digits[3:]
	case strings.HasPrefix(digits, "00"):
		intl = digits[2:]
	default:
		if !isCountryCode(countryCode) {
			return "", invalid("a national number needs a country code of 1 to 3 digits")
		}
		switch {
		case countryCode == "1":
			intl, err = nanp(digits)
			if err != nil {
				return "", err
			}
		case digits[0] == '0' && keepsTrunkZero[countryCode]:
			intl = countryCode + digits
		case digits[0] == '0' && !noTrunkPrefix[countryCode]:
			intl = countryCode + digits[1:]
		case digits[0] != '0' && noTrunkPrefix[countryCode]:
			intl = countryCode + digits
		default:
			return "", invalid("no international prefix or national trunk prefix")
		}
	}
	return checkE164(intl)
}

// plainDigits strips formatting from number and returns its digits and
// whether it began with '+'.
func plainDigits(number string) (digits string, plus bool, err error) {
	s := trimTel(number)
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			out = append(out, byte(r))
		case r == '+':
			if plus || len(out) != 0 {
				return "", false, invalid("'+' is only allowed as the first character")
			}
			plus = true
		case r == '(' && strings.HasPrefix(s[i:], "(0)") && afterCountryPrefix(plus, out):
			i += len("(0)")
			continue
		case r == ')' || r == '(' || r == '-' || r == '.' || r == '/' || unicode.IsSpace(r) ||
			r >= '\u2010' && r <= '\u2014':
			// Formatting: brackets, dashes (ASCII and typographic), dots,
			// slashes ("089/1234567") and any space, including no-break.
		case unicode.IsLetter(r):
			return "", false, invalid("contains a letter")
		default:
			return "", false, invalid("contains %q, which is not part of a phone number", r)
		}
		i += size
	}
	return string(out), plus, nil
}

// checkE164 validates country code plus national number and adds the '+'.
func checkE164(intl string) (string, error) {
	switch {
	case len(intl) < e164MinDigits:
		return "", invalid("%d digits after the country prefix, E.164 needs at least %d", len(intl), e164MinDigits)
	case len(intl) > e164MaxDigits:
		return "", invalid("%d digits, E.164 allows at most %d", len(intl), e164MaxDigits)
	case intl[0] == '0':
		return "", invalid("a country code does not start with 0")
	case intl[0] == '1' && (len(intl) != 11 || !isNANP(intl[1:])):
		return "", invalid("a +1 (NANP) number has 10 digits, area code and exchange starting 2-9")
	}
	return "+" + intl, nil
}

// nanp normalises a number dialled inside the NANP to "1" + 10 digits.
func nanp(digits string) (string, error) {
	switch {
	case len(digits) == 10:
		return "1" + digits, nil
	case len(digits) == 11 && digits[0] == '1':
		return digits, nil
	}
	return "", invalid("a NANP number has 10 digits, or 11 starting with 1")
}

// isNANP reports whether d is a 10-digit NANP number NXX NXX XXXX.
func isNANP(d string) bool {
	return len(d) == 10 && d[0] >= '2' && d[0] <= '9' && d[3] >= '2' && d[3] <= '9'
}

func isCountryCode(cc string) bool {
	if len(cc) < 1 || len(cc) > 3 || cc[0] == '0' {
		return false
	}
	for i := 0; i < len(cc); i++ {
		if cc[i] < '0' || cc[i] > '9' {
			return false
		}
	}
	return true
}
