package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
)

// registerFor is the registration the agents' phones ask for; they
// refresh it at half that. Switchboard may grant less (it bounds Expires).
const registerFor = 10 * time.Minute

// agentRun is one simulated agent: an API session and a registered phone.
type agentRun struct {
	s     *Sim
	spec  Agent
	log   *slog.Logger
	api   *apiClient
	phone *siptest.Phone
	codes map[string][]string // wrap-up codes by queue

	rndMu sync.Mutex
	rnd   *rand.Rand

	busy atomic.Bool // on a call or a break: other calls get 486
	wg   sync.WaitGroup
}

func (a *agentRun) sample(d Dist) time.Duration {
	a.rndMu.Lock()
	defer a.rndMu.Unlock()
	return d.Sample(a.rnd)
}

func (a *agentRun) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	a.rndMu.Lock()
	defer a.rndMu.Unlock()
	return a.rnd.Float64() < p
}

func (a *agentRun) pick(from []string) string {
	if len(from) == 0 {
		return ""
	}
	a.rndMu.Lock()
	defer a.rndMu.Unlock()
	return from[a.rnd.IntN(len(from))]
}

// setup logs in, registers the phone, logs in to the agent's queues and
// sets the starting status.
func (a *agentRun) setup(ctx context.Context) error {
	cfg := a.s.cfg
	a.api = newAPIClient(cfg.APIURL, a.s.http)
	if err := a.api.login(ctx, a.spec.Username, a.spec.Password); err != nil {
		return fmt.Errorf("agent %s: %w", a.spec.Extension, err)
	}
	me, err := a.api.me(ctx)
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.spec.Extension, err)
	}
	a.codes = map[string][]string{}
	for _, q := range cfg.Queues {
		if q.WrapupCodes != nil {
			a.codes[q.Number] = q.WrapupCodes
		}
	}
	for _, m := range me.Queues {
		if _, ok := a.codes[m.Queue]; !ok {
			codes, err := a.api.wrapupCodes(ctx, m.Queue)
			if err != nil {
				return fmt.Errorf("agent %s: %w", a.spec.Extension, err)
			}
			a.codes[m.Queue] = codes
		}
		if m.State != "logged_in" {
			path := "/api/queues/" + m.Queue + "/members/" + a.spec.Extension
			if err := a.api.do(ctx, http.MethodPut, path, map[string]string{"state": "logged_in"}, nil); err != nil {
				return fmt.Errorf("agent %s: log in to queue %s: %w", a.spec.Extension, m.Queue, err)
			}
		}
	}
	a.phone, err = siptest.New(ctx, siptest.Config{
		User: a.spec.Extension, Password: a.spec.SIPPassword, Server: cfg.SIPAddr,
		Listen: cfg.Listen, ToneHz: max(cfg.AgentToneHz, 0),
	})
	if err != nil {
		return fmt.Errorf("agent %s: phone: %w", a.spec.Extension, err)
	}
	if err := a.phone.Register(ctx, registerFor); err != nil {
		return fmt.Errorf("agent %s: %w", a.spec.Extension, err)
	}
	if a.spec.StartBreak != "" {
		if err := a.api.setStatus(ctx, "break", a.spec.StartBreak); err != nil {
			return fmt.Errorf("agent %s: start on a break: %w", a.spec.Extension, err)
		}
		a.s.tally.do(func(t *Tally) { t.Breaks[a.spec.StartBreak]++ })
		return nil
	}
	if err := a.api.setStatus(ctx, "available", ""); err != nil {
		return fmt.Errorf("agent %s: %w", a.spec.Extension, err)
	}
	return nil
}

// run takes calls until ctx ends, then waits for the calls in hand.
func (a *agentRun) run(ctx context.Context) {
	defer a.wg.Wait()
	if a.spec.StartBreak != "" {
		a.busy.Store(true)
		a.goFn(func() {
			defer a.busy.Store(false)
			a.endBreak(ctx, a.sample(a.s.cfg.BreakLength))
		})
	}
	refresh := time.NewTicker(registerFor / 2)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := a.phone.Register(rctx, registerFor); err != nil {
				a.log.Warn("re-register failed", "error", err)
			}
			cancel()
		case c := <-a.phone.Incoming():
			if !a.busy.CompareAndSwap(false, true) {
				a.goFn(func() { _ = c.Reject(486) }) // RFC 3261 §21.4.24: busy here
				continue
			}
			a.goFn(func() { a.handle(ctx, c) })
		}
	}
}

func (a *agentRun) goFn(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// close unregisters and closes the phone.
func (a *agentRun) close() {
	if a.phone == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.phone.Unregister(ctx)
	_ = a.phone.Close()
}

// handle is one ringing call: miss it, or answer, talk, hang up, wrap up
// and perhaps take a break.
//
// The agent is busy (other calls get 486) until the call has ended: the
// after-call work does not block a new call, as Switchboard may offer one
// as soon as the queue's wrap-up time is over.
func (a *agentRun) handle(ctx context.Context, c *siptest.Call) {
	release := sync.OnceFunc(func() { a.busy.Store(false) })
	defer release()
	cfg := a.s.cfg
	cl := a.s.lookupCaller(c.From().User)
	if cl == nil {
		a.s.tally.do(func(t *Tally) { t.DirectCalls++ })
	}
	if cl != nil && a.chance(cfg.MissProb) {
		// Let it ring out: Switchboard withdraws the offer after the
		// queue's ring time and puts the agent in RONA.
		a.unanswered(ctx, c, cl)
		return
	}
	if !sleepOrEnd(ctx, c, a.sample(cfg.AnswerDelay)) {
		a.unanswered(ctx, c, cl)
		return
	}
	if cl != nil && !cl.claim() {
		a.unanswered(ctx, c, cl) // the caller is hanging up
		return
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := c.Answer(actx)
	cancel()
	if cl != nil && cl.answered(err == nil) {
		a.s.answeredCall(cl)
	}
	if err != nil {
		a.log.Debug("answer failed", "error", err)
		a.unanswered(ctx, c, cl)
		return
	}
	answeredAt := time.Now()
	// Run waits for the after-call work (the wrap-up code) of every call
	// answered, so the tally's codes match the answered calls.
	a.s.afterCall.Add(1)
	wrappedUp := sync.OnceFunc(func() { a.s.afterCall.Add(-1) })
	defer wrappedUp()
	talk := LogNormal(20*time.Second, 0.5)
	if cl != nil {
		talk = cl.queue.HandleTime
	}
	sleepOrEnd(ctx, c, a.sample(talk))
	if a.s.checkMedia && cl != nil {
		// The caller's audio reached the agent through Switchboard's
		// relay: at least 80 % of a packet every 20 ms since the answer.
		want := int(time.Since(answeredAt) / (20 * time.Millisecond))
		a.s.mediaChecked.Add(1)
		if c.PacketsReceived()*5 >= want*4 {
			a.s.mediaOK.Add(1)
		}
	}
	// Free before the BYE: Switchboard may offer the next call as soon as
	// it has the BYE, before our BYE transaction completes.
	release()
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = c.Hangup(hctx)
	hcancel()
	if cl == nil {
		return
	}
	q := cl.queue.Number
	a.s.tally.with(q, func(t *QueueTally) { t.HandleTimes = append(t.HandleTimes, time.Since(answeredAt)) })

	if !sleep(ctx, a.sample(cfg.WrapupDelay)) {
		return
	}
	if code := a.pick(a.codes[q]); code != "" {
		if err := a.api.wrapup(ctx, code); err != nil {
			a.log.Warn("wrap-up code not taken", "queue", q, "code", code, "error", err)
		} else {
			a.s.tally.with(q, func(t *QueueTally) { t.WrapupCodes[code]++ })
		}
	}
	wrappedUp()
	// A break only between calls: not when a new one already rings.
	if a.chance(cfg.BreakProb) && a.busy.CompareAndSwap(false, true) {
		defer a.busy.Store(false)
		reason := a.pick(cfg.BreakReasons)
		if err := a.api.setStatus(ctx, "break", reason); err != nil {
			a.log.Warn("break not taken", "reason", reason, "error", err)
			return
		}
		a.s.tally.do(func(t *Tally) { t.Breaks[reason]++ })
		a.endBreak(ctx, a.sample(cfg.BreakLength))
	}
}

// endBreak makes the agent available again after d.
func (a *agentRun) endBreak(ctx context.Context, d time.Duration) {
	if !sleep(ctx, d) {
		return
	}
	if err := a.api.setStatus(ctx, "available", ""); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		a.log.Warn("back from break failed", "error", err)
	}
}

// unanswered waits for a call the agent did not answer to end; if
// Switchboard put the agent in RONA for it, it counts one for the
// caller's queue and makes the agent available again after RONARecovery.
func (a *agentRun) unanswered(ctx context.Context, c *siptest.Call, cl *caller) {
	select {
	case <-c.Done():
	case <-ctx.Done():
		return
	}
	v, err := a.api.me(ctx)
	if err != nil || v.State != "rona" {
		return
	}
	if cl != nil {
		a.s.tally.with(cl.queue.Number, func(t *QueueTally) { t.RONAs++ })
	}
	if !sleep(ctx, a.sample(a.s.cfg.RONARecovery)) {
		return
	}
	if err := a.api.setStatus(ctx, "available", ""); err != nil {
		a.log.Warn("available after RONA failed", "error", err)
	}
}

// sleepOrEnd waits d; false if the call or ctx ended first.
func sleepOrEnd(ctx context.Context, c *siptest.Call, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.Done():
		return false
	case <-ctx.Done():
		return false
	}
}
