package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"

	"github.com/troupe-go/troupe/actor"
)

// Remote returns err as a *RemoteError, the shape the HTTP face sends
// (nil for nil): a *RemoteError in err's chain as it is (one without a
// Type gets the type err's sentinels give, else "error"; a nil one is
// any error's); a
// *actor.PanicError as type "panic" with data {"value", "stack"}; an
// *actor.TruncatedError as type "truncated" with data {"oldest"}; a
// sentinel of this package as its type (see the package doc); anything
// else as type "error" with err's text (if err's Error method panics, a
// text naming err's type and the panic). The other sentinels err wraps
// (of this package, and actor.ErrTruncated) are listed in Also, so that
// the RemoteError matches with errors.Is the sentinels err matches: a job
// cancelled as its dispatcher closed is type "cancelled", also
// ["closed"]. A *RemoteError in the chain wrapped with sentinels it does
// not match is a copy, with them added to its Also. It does not block;
// O(len(chain)·sentinels).
func Remote(err error) *RemoteError {
	if err == nil {
		return nil
	}
	var re *RemoteError
	if errors.As(err, &re) && re != nil {
		cp := *re
		if cp.Type == "" {
			// Every error on the wire has a type: a Client takes an
			// answer without one for no jobs server's.
			cp.Type = typeOf(err)
		}
		if also := alsoOf(err, &cp); len(also) > 0 {
			cp.Also = append(slices.Clip(re.Also), also...)
		}
		if cp.Type == re.Type && len(cp.Also) == len(re.Also) {
			return re
		}
		return &cp
	}
	var pe *actor.PanicError
	if errors.As(err, &pe) {
		data, _ := json.Marshal(struct {
			Value string `json:"value"`
			Stack string `json:"stack"`
		}{fmt.Sprint(pe.Value), string(pe.Stack)})
		re = &RemoteError{Type: typePanic, Message: errorText(err), Data: data}
	} else if te := (*actor.TruncatedError)(nil); errors.As(err, &te) {
		data, _ := json.Marshal(struct {
			Oldest uint64 `json:"oldest"`
		}{te.Oldest})
		re = &RemoteError{Type: typeTruncated, Message: errorText(err), Data: data}
	} else {
		re = &RemoteError{Type: typeOf(err), Message: errorText(err)}
	}
	re.Also = alsoOf(err, re)
	return re
}

// errorText is err.Error(), or, if that panics (the user's Error method:
// a nil *T returned as an error, say), a text naming err's type and the
// panic: Remote runs on a request's goroutine, or on a backend's job's as
// its end is reported, where the panic would cut the answer or crash the
// node.
func errorText(err error) (s string) {
	defer func() {
		if v := recover(); v != nil {
			s = fmt.Sprintf("jobs: the Error method of %T panicked: %v", err, v)
		}
	}()
	return err.Error()
}

// alsoOf lists the wire types of the sentinels err matches and re does
// not, most specific first (one that an earlier one wraps is left out:
// "max_exec" implies "expired"); nil for none.
func alsoOf(err error, re *RemoteError) []string {
	var also []string
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) && !re.Is(s.err) && !slices.ContainsFunc(also, func(t string) bool {
			return errors.Is(sentinelOf[t], s.err)
		}) {
			also = append(also, s.typ)
		}
	}
	return also
}

// typeOf is the wire type of err: its sentinel's, or "error".
func typeOf(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.typ
		}
	}
	return typeError
}

// statusOf is the HTTP status of an error answered instead of a result.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrQueueFull):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrClosed), errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrUnknownHost), errors.Is(err, ErrUnknownProcedure), errors.Is(err, ErrBadArgs),
		errors.Is(err, ErrInvalidID), errors.Is(err, ErrInvalidOption), errors.Is(err, ErrBadRequest),
		errors.Is(err, actor.ErrInvalidOption), errors.Is(err, actor.ErrNegativeDuration):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// errorAnswer is the error of an answer with status code (not 2xx) and
// body: the *RemoteError the body holds, as a troupe jobs server always
// sends one, or else an error wrapping ErrBadResponse (a proxy's page, a
// load balancer's bare 503: nothing said of the dispatcher). A status
// that refuses the request, whoever sent it (nothing was done), also
// makes it match that status's sentinel, as a *RemoteError of its type.
func errorAnswer(method, u string, code int, body []byte) error {
	var re RemoteError
	if json.Unmarshal(body, &re) == nil && re.Type != "" {
		return &re
	}
	err := badResponse(method, u, code, "no jobs error", body)
	typ := ""
	switch code {
	case http.StatusBadRequest:
		typ = typeBadRequest
	case http.StatusUnauthorized, http.StatusForbidden:
		typ = typeUnauthorized
	case http.StatusMethodNotAllowed:
		typ = typeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		typ = typeTooLarge
	case http.StatusTooManyRequests:
		typ = typeQueueFull
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", err, &RemoteError{Type: typ, Message: fmt.Sprintf("jobs: HTTP %d: %s", code, http.StatusText(code))})
}

// badResponse is the error of an answer that no troupe jobs server sends:
// ErrBadResponse with the request, the status, why, and the body's start.
func badResponse(method, u string, code int, why string, body []byte) error {
	const show = 64
	more := ""
	if len(body) > show {
		body, more = body[:show], "…"
	}
	return fmt.Errorf("%w: %s %s: HTTP %d: %s: %q%s", ErrBadResponse, method, u, code, why, body, more)
}

// marshalJSON is json.Marshal that returns a panic of v's MarshalJSON (the
// user's code, run wherever the dispatcher encodes a value: on a Submit
// caller's, a request's or a job's goroutine) as an error, a
// *actor.PanicError "jobs.marshal" with its stack, rather than let it go
// on (encoding/json passes it on): it would cut an HTTP answer, or crash
// a backend's node as it reports a result.
func marshalJSON(v any) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, &actor.PanicError{Method: "jobs.marshal", Value: p, Stack: debug.Stack()}
		}
	}()
	return json.Marshal(v)
}
