package stripetest

import (
	"encoding/json"
	"fmt"
	"time"
)

// event wraps an object in Stripe's event envelope.
func event(typ string, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": "evt_" + token(12), "object": "event", "api_version": APIVersion, "created": time.Now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object},
	})
	if err != nil {
		panic(err) // maps of plain values always encode
	}
	return b
}

// EventID reads the id of an event payload.
func EventID(payload []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	json.Unmarshal(payload, &e)
	return e.ID
}

// Complete pays a session as the buyer would on Stripe's page and returns
// the checkout.session.completed event. A subscription session starts a
// subscription whose first period ends a month from now.
func (s *Server) Complete(sessionID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[sessionID]
	if !ok {
		return nil, fmt.Errorf("no session %s", sessionID)
	}
	cus := "cus_" + token(8)
	var sub any
	if sess.Mode == "subscription" {
		id := "sub_" + token(10)
		s.subs[id] = &Subscription{ID: id, Customer: cus, Metadata: sess.SubscriptionMetadata, PeriodEnd: time.Now().AddDate(0, 1, 0).Truncate(time.Second)}
		sub = id
	}
	return event("checkout.session.completed", map[string]any{
		"id": sess.ID, "object": "checkout.session", "mode": sess.Mode, "status": "complete", "payment_status": "paid",
		"customer": cus, "subscription": sub, "metadata": sess.Metadata, "client_reference_id": nullable(sess.ClientReferenceID),
		"amount_total": sess.UnitAmount * sess.Quantity, "currency": sess.Currency, "url": nil, "livemode": false,
	}), nil
}

// Subscription returns a subscription a completed session started.
func (s *Server) Subscription(id string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return Subscription{}, false
	}
	return *sub, true
}

// Subscriptions lists the subscriptions started, in no order.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		out = append(out, *sub)
	}
	return out
}

func (s *Server) sub(id string) (*Subscription, error) {
	sub, ok := s.subs[id]
	if !ok {
		return nil, fmt.Errorf("no subscription %s", id)
	}
	return sub, nil
}

func (s *Server) invoice(typ string, sub *Subscription, start, end time.Time) []byte {
	status := "paid"
	if typ == "invoice.payment_failed" {
		status = "open"
	}
	return event(typ, map[string]any{
		"id": "in_" + token(10), "object": "invoice", "customer": sub.Customer, "status": status,
		"period_start": start.Unix(), "period_end": start.Unix(), // Stripe's invoice period is the one before the lines'
		"parent": map[string]any{"type": "subscription_details", "quote_details": nil,
			"subscription_details": map[string]any{"subscription": sub.ID, "metadata": sub.Metadata}},
		"lines": map[string]any{"object": "list", "has_more": false, "url": "/v1/invoices/lines", "data": []any{map[string]any{
			"id": "il_" + token(8), "object": "line_item", "period": map[string]any{"start": start.Unix(), "end": end.Unix()}}}},
	})
}

// Renew bills the subscription's next month, paid: its period now ends a
// month after the old end; the invoice.paid event is returned.
func (s *Server) Renew(subID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.sub(subID)
	if err != nil {
		return nil, err
	}
	start := sub.PeriodEnd
	sub.PeriodEnd = start.AddDate(0, 1, 0)
	return s.invoice("invoice.paid", sub, start, sub.PeriodEnd), nil
}

// FailRenewal bills the next month and fails: invoice.payment_failed.
func (s *Server) FailRenewal(subID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.sub(subID)
	if err != nil {
		return nil, err
	}
	return s.invoice("invoice.payment_failed", sub, sub.PeriodEnd, sub.PeriodEnd.AddDate(0, 1, 0)), nil
}

// Cancel ends the subscription: customer.subscription.deleted.
func (s *Server) Cancel(subID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, err := s.sub(subID)
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	return event("customer.subscription.deleted", map[string]any{
		"id": sub.ID, "object": "subscription", "status": "canceled", "customer": sub.Customer, "metadata": sub.Metadata,
		"canceled_at": now, "ended_at": now,
		"items": map[string]any{"object": "list", "has_more": false, "data": []any{map[string]any{
			"id": "si_" + token(8), "object": "subscription_item", "current_period_start": sub.PeriodEnd.AddDate(0, -1, 0).Unix(),
			"current_period_end": sub.PeriodEnd.Unix()}}},
	}), nil
}
