package e2e

import (
	"encoding/json"
	"testing"
)

// TestBrowserPhoneGetsICEServers: the STUN/TURN list the server's WebRTC
// side uses reaches the console's phone through GET /api/me — for a user
// with an extension; one without (the admin) gets none.
func TestBrowserPhoneGetsICEServers(t *testing.T) {
	s := startServer(t, serverOpts{env: []string{"SWITCHBOARD_WEBRTC_ICE_SERVERS=stun:stun.example.net:3478"}})
	tests := []struct {
		user string
		want string
	}{
		{"1001", `[{"urls":["stun:stun.example.net:3478"]}]`},
		{"admin", `[]`},
	}
	for _, tt := range tests {
		code, body := s.as(t, tt.user, "GET", "/api/me", "")
		got, _ := json.Marshal(body["ice_servers"])
		if code != 200 || string(got) != tt.want {
			t.Errorf("%s: GET /api/me: %d, ice_servers %s, want %s", tt.user, code, got, tt.want)
		}
	}
}
