package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient talks to Switchboard's REST API as one user, with the bearer
// token of their session.
type apiClient struct {
	base  string
	http  *http.Client
	token string
}

func newAPIClient(base string, hc *http.Client) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), http: hc}
}

// login opens a session (POST /api/login).
func (c *apiClient) login(ctx context.Context, user, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/login", map[string]string{"username": user, "password": password}, &out); err != nil {
		return fmt.Errorf("log in as %s: %w", user, err)
	}
	if out.Token == "" {
		return fmt.Errorf("log in as %s: no token in the answer", user)
	}
	c.token = out.Token
	return nil
}

// apiError is a non-2xx answer.
type apiError struct {
	Status int
	Code   string
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d %s", e.Status, e.Body) }

// do sends body as JSON and decodes a 2xx answer into out (if not nil).
// Each request is bounded by 10 s on top of ctx.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Status: resp.StatusCode, Body: strings.TrimSpace(string(raw))}
		var je struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(raw, &je) == nil {
			e.Code = je.Code
		}
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// agentView is the part of GET /api/me/agent the simulator reads.
type agentView struct {
	Status string `json:"status"`
	State  string `json:"state"`
	Queues []struct {
		Queue string `json:"queue"`
		State string `json:"state"`
	} `json:"queues"`
}

func (c *apiClient) me(ctx context.Context) (agentView, error) {
	var v agentView
	err := c.do(ctx, http.MethodGet, "/api/me/agent", nil, &v)
	return v, err
}

func (c *apiClient) setStatus(ctx context.Context, status, reason string) error {
	return c.do(ctx, http.MethodPut, "/api/me/agent", map[string]string{"status": status, "reason_code": reason}, nil)
}

func (c *apiClient) wrapup(ctx context.Context, code string) error {
	return c.do(ctx, http.MethodPost, "/api/me/wrapup", map[string]any{"code": code, "end": true}, nil)
}

func (c *apiClient) wrapupCodes(ctx context.Context, queue string) ([]string, error) {
	var out struct {
		Codes []struct {
			Code string `json:"code"`
		} `json:"wrapup_codes"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/queues/"+queue+"/wrapup-codes", nil, &out); err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(out.Codes))
	for _, w := range out.Codes {
		codes = append(codes, w.Code)
	}
	return codes, nil
}
