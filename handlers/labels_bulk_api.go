package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
)

// maxBulkBytes bounds a bulk request's body: 1,000 operations with long
// names fit.
const maxBulkBytes = 512 << 10

// labelRef is a label named by its name (a string) or its id (a number).
type labelRef string

func (l *labelRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = labelRef(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err == nil && n > 0 {
		*l = labelRef(strconv.FormatInt(n, 10))
		return nil
	}
	return problem.Invalidf("label", "A label is its name (a string) or its id (a positive whole number).")
}

type bulkRequestJSON struct {
	Partial    bool              `json:"partial"`
	Operations []json.RawMessage `json:"operations"`
}

type bulkItemJSON struct {
	Op     string          `json:"op"`
	Person json.RawMessage `json:"person"`
	Label  json.RawMessage `json:"label"`
}

type personRefJSON struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
	Name     string `json:"name"`
}

// bulkOp reads one operation; what is wrong with it goes in Err, so that
// the answer lists it with the others.
func bulkOp(raw json.RawMessage) labels.BulkOp {
	var it bulkItemJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&it); err != nil {
		return badOp("%s", message(problem.JSON(err, "operation")))
	}
	var op labels.BulkOp
	switch it.Op {
	case "add":
		op.Give = true
	case "remove":
	case "":
		return badOp(`op: give "add" or "remove".`)
	default:
		return badOp("op: %q is not \"add\" or \"remove\".", clipRunes(it.Op, 20))
	}
	var id int64
	if err := json.Unmarshal(it.Person, &id); err == nil {
		if id <= 0 {
			return badOp("person: an identity id is a positive whole number.")
		}
		op.Person.IdentityID = id
	} else {
		var p personRefJSON
		pd := json.NewDecoder(bytes.NewReader(it.Person))
		pd.DisallowUnknownFields()
		if len(it.Person) == 0 || pd.Decode(&p) != nil {
			return badOp(`person: give an identity id, or {"platform", "account"}, or {"platform", "name"}.`)
		}
		op.Person = labels.PersonRef{Platform: p.Platform, Account: p.Account, Name: p.Name}
	}
	var l labelRef
	if len(it.Label) == 0 {
		return badOp("label: name the label (its id or name).")
	}
	if err := l.UnmarshalJSON(it.Label); err != nil {
		return badOp("%s", "label: "+message(err))
	}
	op.Label = string(l)
	return op
}

// badOp is an operation the request already found wrong.
func badOp(format string, args ...any) labels.BulkOp {
	return labels.BulkOp{Err: problem.New(problem.Invalid, format, args...)}
}

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// apiLabelsBulk applies up to 1,000 label operations; see labels.Service.Bulk.
// Applied: 200; not applied (all or nothing, with bad items): 422. Either
// way the data lists every item's outcome.
func (h *Handler) apiLabelsBulk(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBulkBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		h.apiFail(w, r, problem.New(problem.Invalid, "The body is too large (at most %d KiB).", maxBulkBytes>>10))
		return
	}
	if err != nil {
		h.apiFail(w, r, fmt.Errorf("read bulk body: %w", err))
		return
	}
	var in bulkRequestJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			err = problem.New(problem.Invalid, "The body is empty: send a JSON object.")
		}
		h.apiFail(w, r, problem.JSON(err, "body"))
		return
	}
	if len(in.Operations) > labels.MaxBulk {
		h.apiFail(w, r, problem.Invalidf("operations", "Send at most %d operations in one request; this one has %d.", labels.MaxBulk, len(in.Operations)))
		return
	}
	ops := make([]labels.BulkOp, len(in.Operations))
	for i, raw := range in.Operations {
		ops[i] = bulkOp(raw)
	}
	u, _ := userOf(r)
	res, err := h.cfg.Labels.Bulk(r.Context(), keyActor(r, u), apiScope(r), ops, in.Partial)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if !res.Applied {
		writeJSON(w, http.StatusUnprocessableEntity, res, "Nothing was applied: some items have errors (see items).")
		return
	}
	writeJSON(w, http.StatusOK, res, fmt.Sprintf("%d added, %d removed.", res.Added, res.Removed))
}
