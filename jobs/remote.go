package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/troupe-go/troupe/actor"
)

// Remote returns err as a *RemoteError, the shape the HTTP face sends
// (nil for nil): a *RemoteError in err's chain as it is; a
// *actor.PanicError as type "panic" with data {"value", "stack"}; an
// *actor.TruncatedError as type "truncated" with data {"oldest"}; a
// sentinel of this package as its type (see the package doc); anything
// else as type "error" with err's text. It does not block; O(len(chain)).
func Remote(err error) *RemoteError {
	if err == nil {
		return nil
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	var pe *actor.PanicError
	if errors.As(err, &pe) {
		data, _ := json.Marshal(struct {
			Value string `json:"value"`
			Stack string `json:"stack"`
		}{fmt.Sprint(pe.Value), string(pe.Stack)})
		return &RemoteError{Type: typePanic, Message: err.Error(), Data: data}
	}
	var te *actor.TruncatedError
	if errors.As(err, &te) {
		data, _ := json.Marshal(struct {
			Oldest uint64 `json:"oldest"`
		}{te.Oldest})
		return &RemoteError{Type: typeTruncated, Message: err.Error(), Data: data}
	}
	return &RemoteError{Type: typeOf(err), Message: err.Error()}
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

// remoteFor rebuilds the error a server sent with an HTTP status: the
// body's *RemoteError if it has one, else one of the status's type.
func remoteFor(code int, body []byte) *RemoteError {
	var re RemoteError
	if json.Unmarshal(body, &re) == nil && re.Type != "" {
		return &re
	}
	typ := typeError
	switch code {
	case http.StatusNotFound:
		typ = typeNotFound
	case http.StatusConflict:
		typ = typeConflict
	case http.StatusRequestEntityTooLarge:
		typ = typeTooLarge
	case http.StatusTooManyRequests:
		typ = typeQueueFull
	case http.StatusUnauthorized, http.StatusForbidden:
		typ = typeUnauthorized
	case http.StatusMethodNotAllowed:
		typ = typeMethodNotAllowed
	case http.StatusBadRequest:
		typ = typeBadRequest
	case http.StatusServiceUnavailable:
		typ = typeClosed
	}
	return &RemoteError{Type: typ, Message: fmt.Sprintf("jobs: HTTP %d: %s", code, http.StatusText(code))}
}
