// Command apibench measures the REST API against a running Switchboard demo:
// it sets up live calls with the in-repo softphone, then times GET /api/calls
// (with those calls in it) from several clients, and hold/resume round trips
// (request to response, the media change included) one after another.
//
//	go run ./bench/apibench -sip 127.0.0.1:36060 -http 127.0.0.1:38181 -calls 10
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

func main() {
	sipAddr := flag.String("sip", "127.0.0.1:36060", "Switchboard SIP address")
	httpAddr := flag.String("http", "127.0.0.1:38181", "Switchboard HTTP address")
	calls := flag.Int("calls", 10, "live calls during the measurement (caller 100x → callee 100y, pairs)")
	clients := flag.Int("clients", 16, "concurrent GET clients")
	secs := flag.Int("secs", 10, "seconds of GET load")
	rounds := flag.Int("rounds", 200, "hold/resume round trips")
	flag.Parse()
	if *calls > 5 {
		log.Fatal("the demo has 10 extensions: at most 5 caller/callee pairs")
	}
	base := "http://" + *httpAddr
	token := login(base)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var live []*siptest.Call
	for i := 0; i < *calls; i++ {
		a, b := fmt.Sprint(1001+2*i), fmt.Sprint(1002+2*i)
		caller := mustPhone(ctx, *sipAddr, a, 1000)
		callee := mustPhone(ctx, *sipAddr, b, 440)
		callee.AutoAnswer(0)
		c, err := caller.Dial(ctx, b)
		if err != nil {
			log.Fatalf("call %s→%s: %v", a, b, err)
		}
		live = append(live, c)
		defer caller.Close()
		defer callee.Close()
	}
	ids := callIDs(base, token)
	fmt.Printf("live calls: %d\n", len(ids))

	// GET /api/calls from several clients.
	var n, bad atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Duration(*secs) * time.Second)
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if code := request(base, token, "GET", "/api/calls", ""); code == 200 {
					n.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("GET /api/calls: %.0f req/s with %d clients and %d live calls (%d errors)\n",
		float64(n.Load())/float64(*secs), *clients, len(ids), bad.Load())

	// Hold/resume round trips, one after another.
	var rtt []time.Duration
	for i := 0; i < *rounds; i++ {
		id := ids[i%len(ids)]
		for _, step := range []struct{ path, body string }{{"/hold", `{"party":"caller"}`}, {"/resume", ""}} {
			t0 := time.Now()
			if code := request(base, token, "POST", "/api/calls/"+id+step.path, step.body); code != 200 {
				log.Fatalf("%s: HTTP %d", step.path, code)
			}
			rtt = append(rtt, time.Since(t0))
		}
	}
	slices.Sort(rtt)
	fmt.Printf("hold/resume: %d requests, p50 %s, p99 %s, max %s\n", len(rtt),
		rtt[len(rtt)/2].Round(time.Microsecond), rtt[len(rtt)*99/100].Round(time.Microsecond), rtt[len(rtt)-1].Round(time.Microsecond))
	for _, c := range live {
		c.Hangup(ctx)
	}
}

func mustPhone(ctx context.Context, server, ext string, tone float64) *siptest.Phone {
	p, err := siptest.New(ctx, siptest.Config{User: ext, Password: "demo-" + ext, Server: server, ToneHz: tone})
	if err != nil {
		log.Fatalf("phone %s: %v", ext, err)
	}
	if err := p.Register(ctx, 300*time.Second); err != nil {
		log.Fatalf("register %s: %v", ext, err)
	}
	return p
}

func login(base string) string {
	resp, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"demo-admin"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		log.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return out.Token
}

func callIDs(base, token string) []string {
	req, _ := http.NewRequest("GET", base+"/api/calls", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Calls []struct{ ID string } `json:"calls"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	var ids []string
	for _, c := range out.Calls {
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		fmt.Fprintln(os.Stderr, "no live calls")
		os.Exit(1)
	}
	return ids
}

func request(base, token, method, path, body string) int {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
