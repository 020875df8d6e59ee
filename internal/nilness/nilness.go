// Package nilness tells whether an interface value holds nil, typed or
// not: the check that Spawn, whitelists and fsm definitions share.
package nilness

import "reflect"

// Is reports whether v is nil or holds a nil pointer, map, slice, func,
// channel or interface. O(1); it does not allocate.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
