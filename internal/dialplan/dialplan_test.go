package dialplan

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string // substring; "" for success
	}{
		{"1001", "1001", ""},
		{"123", "123", ""},
		{" 1001 ", "1001", ""},
		{"+31 20 123 0001", "+31201230001", ""},
		{"+31 (0)20 123 0001", "+31201230001", ""},
		{"0031 (0)20 123 0001", "0031201230001", ""},
		{"(020) 123-0001", "0201230001", ""},
		{"020.123.0001", "0201230001", ""},
		{"06-12345678", "0612345678", ""},
		{"+1 (212) 555-1234", "+12125551234", ""},
		// 15 digits: over Clean's limit of 14 (T12), though E164 accepts it.
		{"011 44 20 7946 0958", "", "15 digits"},
		{"tel:+31-20-123-0001", "+31201230001", ""},
		{"TEL:0201230001", "0201230001", ""},
		{"*72 1001", "*721001", ""},
		{"#123#", "#123#", ""},
		{"0201230001,,1234#", "0201230001,,1234#", ""},
		{"8000:1", "8000:1", ""},
		{"1-800-FLOWERS", "1800", ""},            // letters are stripped, not translated
		{"Anna: 1001", ":1001", ""},              // ':' is kept
		{"1\u00a0001\u2013 2", "10012", ""},      // no-break space and en dash stripped
		{"12345678901234", "12345678901234", ""}, // 14 digits
		{"(0)20 1230001", "0201230001", ""},      // a national "(0)" is the trunk prefix
		{"", "", "0 digits"},
		{"   ", "", "0 digits"},
		{"12", "", "2 digits"},
		{"*#06#", "", "2 digits"},
		{"abc", "", "0 digits"},
		{"+", "", "0 digits"},
		{"123456789012345", "", "15 digits"},
		{"+31 20 +123", "", "'+' is only allowed as the first character"},
		{"1001+", "", "'+'"},
		{"++31201230001", "", "'+'"},
		{"tel:tel:+31201230001", "", "'+'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Clean(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidNumber) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Clean(%q) = %q, %v; want an ErrInvalidNumber about %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Clean(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestE164(t *testing.T) {
	tests := []struct {
		in, cc, want string
		wantErr      string // substring; "" for success
	}{
		// The Netherlands.
		{"+31 20 123 0001", "31", "+31201230001", ""},
		{"+31 (0)20 123 0001", "31", "+31201230001", ""},
		{"+31(0)201230001", "31", "+31201230001", ""},
		{"0031 20 123 0001", "31", "+31201230001", ""},
		{"0031201230001", "31", "+31201230001", ""},
		{"0031 (0)20 123 0001", "31", "+31201230001", ""},
		{"020 1230001", "31", "+31201230001", ""},
		{"020-123 00 01", "31", "+31201230001", ""},
		{"(020) 123 0001", "31", "+31201230001", ""},
		{"(0)20 123 0001", "31", "+31201230001", ""},
		{"06-12345678", "31", "+31612345678", ""},
		{"06 1234 5678", "31", "+31612345678", ""},
		{"+31612345678", "31", "+31612345678", ""},
		{"tel:+31-20-123-0001", "31", "+31201230001", ""},
		{"0800-0123", "31", "+318000123", ""},
		{"0111 123456", "31", "+31111123456", ""}, // Zierikzee: 011 is not an IDD here
		{"011 1 212 555 1234", "31", "+12125551234", ""},
		{"+31 20 123 0001", "", "+31201230001", ""}, // international needs no country code
		// The United States (NANP).
		{"(212) 555-1234", "1", "+12125551234", ""},
		{"212.555.1234", "1", "+12125551234", ""},
		{"212-555-1234", "1", "+12125551234", ""},
		{"1 212 555 1234", "1", "+12125551234", ""},
		{"1-212-555-1234", "1", "+12125551234", ""},
		{"+1 (212) 555-1234", "1", "+12125551234", ""},
		{"011 1 212 555 1234", "1", "+12125551234", ""},
		{"011 31 20 123 0001", "1", "+31201230001", ""},
		{"011 44 20 7946 0958", "1", "+442079460958", ""},
		{"00 31 20 123 0001", "1", "+31201230001", ""},
		{"+1 212 555 1234", "31", "+12125551234", ""},
		// The United Kingdom.
		{"020 7946 0958", "44", "+442079460958", ""},
		{"+44 (0)20 7946 0958", "44", "+442079460958", ""},
		{"+44 20 7946 0958", "44", "+442079460958", ""},
		{"0044 20 7946 0958", "44", "+442079460958", ""},
		{"0113 496 0000", "44", "+441134960000", ""}, // Leeds: 011 is not an IDD here
		{"07700 900123", "44", "+447700900123", ""},
		{"(0161) 496 0000", "44", "+441614960000", ""},
		// Germany.
		{"030 12345678", "49", "+493012345678", ""},
		{"+49 (0)30 12345678", "49", "+493012345678", ""},
		{"0049 30 12345678", "49", "+493012345678", ""},
		{"089/1234567", "49", "+49891234567", ""},
		{"0151 23456789", "49", "+4915123456789", ""},
		{"+49 30 123456-78", "49", "+493012345678", ""},
		{"+49\u00a030\u00a012345678", "49", "+493012345678", ""},
		{"0 30 / 12 34 56 78", "49", "+493012345678", ""},
		// Plans with a kept 0 or no trunk prefix.
		{"06 1234 5678", "39", "+390612345678", ""},
		{"612 345 678", "34", "+34612345678", ""},
		{"+34 612 345 678", "31", "+34612345678", ""},
		// Length limits: 8 and 15 digits.
		{"+31123456", "31", "+31123456", ""},
		{"+123456789012345", "", "", "NANP"},
		{"+491234567890123", "", "+491234567890123", ""},

		// Errors.
		{"", "31", "", "no digits"},
		{"   ", "31", "", "no digits"},
		{"+", "31", "", "no digits"},
		{"tel:", "31", "", "no digits"},
		{"0", "31", "", "digits after the country prefix"},
		{"00", "31", "", "digits after the country prefix"},
		{"+3112345", "31", "", "7 digits"},
		{"+4912345678901234", "", "", "16 digits"},
		{"0049 1234 5678 9012 34", "49", "", "16 digits"},
		{"+0123456789", "31", "", "does not start with 0"},
		{"000031201230001", "31", "", "does not start with 0"},
		{"201230001", "31", "", "no international prefix or national trunk prefix"},
		{"020 1230001", "", "", "needs a country code"},
		{"020 1230001", "031", "", "needs a country code"},
		{"020 1230001", "NL", "", "needs a country code"},
		{"1-800-FLOWERS", "1", "", "letter"},
		{"+31 20 123 0001 ext 5", "31", "", "letter"},
		{"020*1230001", "31", "", "'*'"},
		{"#31201230001", "31", "", "'#'"},
		{"0201230001,1", "31", "", "','"},
		{"+31 20 +123", "31", "", "'+'"},
		{"31+201230001", "31", "", "'+'"},
		{"555-1234", "1", "", "NANP number has 10 digits"},
		{"(112) 555-1234", "1", "", "area code and exchange"},
		{"(212) 155-1234", "1", "", "area code and exchange"},
		{"2 212 555 1234", "1", "", "NANP number has 10 digits"},
		{"0201230001", "1", "", "NANP"},
		{"+1 555 0100", "31", "", "NANP"},
		{"\xff\xfe", "31", "", "not part of a phone number"},
	}
	for _, tt := range tests {
		t.Run(tt.cc+"/"+tt.in, func(t *testing.T) {
			got, err := E164(tt.in, tt.cc)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidNumber) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("E164(%q, %q) = %q, %v; want an ErrInvalidNumber about %q", tt.in, tt.cc, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("E164(%q, %q) = %q, %v; want %q", tt.in, tt.cc, got, err, tt.want)
			}
		})
	}
}

// TestErrorsDoNotEchoTheNumber: errors end up in logs; numbers are personal data.
func TestErrorsDoNotEchoTheNumber(t *testing.T) {
	const n = "06-98765432 ext 55"
	if _, err := E164(n, "31"); err == nil || strings.Contains(err.Error(), "98765432") {
		t.Errorf("E164 error = %v", err)
	}
	if _, err := Clean("+31 98765432 +1"); err == nil || strings.Contains(err.Error(), "98765432") {
		t.Errorf("Clean error = %v", err)
	}
}

var (
	e164Pattern  = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	cleanPattern = regexp.MustCompile(`^\+?[0-9#*:,]*$`)
)

func FuzzClean(f *testing.F) {
	for _, s := range []string{"1001", "+31 (0)20 123 0001", "tel:+1-212-555-1234", "*72#", "a+b", "(0)(0)(0)123",
		"00(0)31", "+(0)123", "0201230001,,1234#", "\xff+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Clean(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("Clean(%q) error %v does not wrap ErrInvalidNumber", s, err)
			}
			return
		}
		if !cleanPattern.MatchString(got) {
			t.Fatalf("Clean(%q) = %q: characters outside [0-9+#*:,] or '+' not first", s, got)
		}
		digits := 0
		for _, c := range got {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits < 3 || digits > 14 {
			t.Fatalf("Clean(%q) = %q with %d digits", s, got, digits)
		}
		if again, err := Clean(got); err != nil || again != got {
			t.Fatalf("Clean is not idempotent: Clean(%q) = %q, %v", got, again, err)
		}
	})
}

func FuzzE164(f *testing.F) {
	for _, s := range []struct{ n, cc string }{
		{"+31 20 123 0001", "31"}, {"0031 (0)20 123 0001", "31"}, {"020 1230001", "31"},
		{"(212) 555-1234", "1"}, {"011 1 212 555 1234", "31"}, {"011 44 20 7946 0958", "1"},
		{"0113 496 0000", "44"}, {"06 1234 5678", "39"}, {"612 345 678", "34"}, {"", ""}, {"+(0)1", "x"},
	} {
		f.Add(s.n, s.cc)
	}
	f.Fuzz(func(t *testing.T, n, cc string) {
		got, err := E164(n, cc)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("E164(%q, %q) error %v does not wrap ErrInvalidNumber", n, cc, err)
			}
			return
		}
		if !e164Pattern.MatchString(got) {
			t.Fatalf("E164(%q, %q) = %q, not E.164", n, cc, got)
		}
		if again, err := E164(got, cc); err != nil || again != got {
			t.Fatalf("E164 is not idempotent: E164(%q) = %q, %v", got, again, err)
		}
	})
}
