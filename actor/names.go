package actor

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest actor or method name, in bytes.
const MaxNameLen = 255

// ValidName reports whether name can name an actor or a method: not empty,
// at most MaxNameLen bytes, valid UTF-8, no control characters. The error
// wraps ErrInvalidName.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes, over %d", ErrInvalidName, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not UTF-8", ErrInvalidName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q has a control character", ErrInvalidName, name)
		}
	}
	return nil
}
