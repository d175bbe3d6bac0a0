package siptest

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// lockDialog takes the call's in-dialog request lock (see Call.dialogSem).
func (c *Call) lockDialog(ctx context.Context) error {
	select {
	case c.dialogSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Call) unlockDialog() { <-c.dialogSem }

// dialogTx sends req inside the call's dialog: sipgo fills From, To,
// Call-ID, the route set and the next local CSeq (RFC 3261 §12.2.1.1).
// Building and sending happen under the dialog lock, so requests leave in
// CSeq order. before, if not nil, is told the CSeq req will carry before
// it is sent, so that whatever answers to that number (a NOTIFY naming a
// REFER) can be matched even if it overtakes the response.
func (c *Call) dialogTx(ctx context.Context, req *sip.Request, before func(cseq uint32)) (sip.ClientTransaction, error) {
	if err := c.lockDialog(ctx); err != nil {
		return nil, err
	}
	defer c.unlockDialog()
	var d *sipgo.Dialog
	if c.csess != nil {
		d = &c.csess.Dialog
	} else {
		d = &c.ssess.Dialog
	}
	if before != nil {
		// Every request that advances the dialog's CSeq goes through this
		// lock, and ACK/CANCEL do not advance it, so this is the number
		// sipgo will assign.
		before(d.CSEQ() + 1)
	}
	if c.csess != nil {
		return c.csess.TransactionRequest(ctx, req)
	}
	return c.ssess.TransactionRequest(ctx, req)
}

// roundTrip sends a non-INVITE request in the dialog and returns its final
// response; ctx and the transaction's timeout (Timer F) bound the wait.
func (c *Call) roundTrip(ctx context.Context, req *sip.Request, before func(cseq uint32)) (*sip.Response, error) {
	tx, err := c.dialogTx(ctx, req, before)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	// The call's end does not stop the wait: the peer may answer, NOTIFY
	// and BYE before we read its answer, and the request's outcome is that
	// answer. Close terminates the transaction, ending the wait, anyway.
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return res, nil
				}
			default:
			}
			return nil, fmt.Errorf("transaction ended: %w", txErr(tx))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// txErr is the transaction's error, or a generic one when sipgo gives none.
func txErr(tx sip.ClientTransaction) error {
	if err := tx.Err(); err != nil {
		return err
	}
	return sip.ErrTransactionTerminated
}

// writeAck ACKs a 2xx to the in-dialog INVITE inv as it was sent. The ACK
// is built from inv itself (RFC 3261 §13.2.2.4: same Request-URI, Call-ID,
// From, To, route set and CSeq number, method ACK, a new Via branch) rather
// than through the dialog, which would stamp it with the dialog's latest
// CSeq: wrong once a REFER has been sent while the INVITE was pending.
func (c *Call) writeAck(inv *sip.Request) error {
	ack := sip.NewRequest(sip.ACK, *inv.Recipient.Clone())
	ack.SipVersion = inv.SipVersion
	for _, h := range []sip.Header{inv.From(), inv.To(), inv.CallID()} {
		if h == nil {
			return fmt.Errorf("siptest: ACK: INVITE lacks dialog headers")
		}
		ack.AppendHeader(sip.HeaderClone(h))
	}
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	maxFwd := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&maxFwd)
	for _, h := range inv.GetHeaders("Route") {
		ack.AppendHeader(sip.HeaderClone(h))
	}
	ack.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	ack.SetBody(nil)
	ack.SetTransport(inv.Transport())
	if d := inv.MessageData.Destination(); d != "" {
		ack.SetDestination(d)
	}
	c.p.setLaddr(ack)
	return c.p.cli.WriteRequest(ack, sipgo.ClientRequestAddVia)
}
