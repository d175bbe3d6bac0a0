// Package dialplan validates dialled strings and normalises numbers (T12),
// and will hold dial plans, IVR menus and schedules (T11).
//
// CONTRACT FILE: the exported API below is what the rest codes against.
package dialplan

import "errors"

// ErrInvalidNumber means a dialled string is not a usable number.
var ErrInvalidNumber = errors.New("invalid number")

// Clean validates a dialled string (T12): it keeps digits and + # * : ,
// strips every other character (spaces, dashes, dots, brackets, letters),
// and requires 3 to 14 digits in what remains ('+' only first). The error
// wraps ErrInvalidNumber and says why.
func Clean(dialled string) (string, error) { panic("unimplemented") }

// E164 normalises a number to E.164 ("+" and 8–15 digits): "+31 20 123 0001",
// "0031201230001" (IDD 00), "011 1 212 555 1234" (US IDD), "020 1230001"
// (national, trunk prefix 0, with countryCode "31") and, for countryCode "1",
// 10-digit NANP numbers "(212) 555-1234". The error wraps ErrInvalidNumber.
func E164(number, countryCode string) (string, error) { panic("unimplemented") }
