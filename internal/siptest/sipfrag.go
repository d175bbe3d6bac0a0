package siptest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// parseSipfrag reads the status line a message/sipfrag body (RFC 3420)
// starts with. A NOTIFY for the refer event package must carry one (RFC
// 3515 §2.4.5): "SIP/2.0 200 OK", possibly followed by header lines, which
// are ignored. The version is matched case-insensitively (RFC 3261 §7.1);
// the reason phrase may be empty, with or without the space before it.
// The code must be 100-699 (RFC 3261 §7.2).
func parseSipfrag(body []byte) (code int, reason string, err error) {
	line := body
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	version, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || !strings.EqualFold(string(version), "SIP/2.0") {
		return 0, "", fmt.Errorf("siptest: sipfrag: no SIP/2.0 status line in %q", truncate(line))
	}
	if len(rest) < 3 {
		return 0, "", fmt.Errorf("siptest: sipfrag: no status code in %q", truncate(line))
	}
	for _, b := range rest[:3] {
		if b < '0' || b > '9' {
			return 0, "", fmt.Errorf("siptest: sipfrag: bad status code in %q", truncate(line))
		}
		code = code*10 + int(b-'0')
	}
	if code < 100 || code > 699 {
		return 0, "", fmt.Errorf("siptest: sipfrag: status code %d out of range", code)
	}
	switch rest = rest[3:]; {
	case len(rest) == 0:
	case rest[0] == ' ':
		reason = string(rest[1:])
	default:
		return 0, "", fmt.Errorf("siptest: sipfrag: bad status code in %q", truncate(line))
	}
	if strings.ContainsRune(reason, '\r') {
		return 0, "", errors.New("siptest: sipfrag: CR in reason phrase")
	}
	return code, reason, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
