package jetjobs

import (
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/jobs"
)

// Sentinel errors. The backend's other refusals are the jobs package's
// (jobs.ErrNotFound, jobs.ErrUnavailable, jobs.ErrQueueFull, …), wrapped.
var (
	// ErrVersion: a stored record or job message of a format version this
	// code does not know (written by a newer release). Lookup returns a
	// *VersionError wrapping it; a runner dead-letters such a message.
	ErrVersion = errors.New("jetjobs: unknown record version")
	// ErrMalformed: a job message or a stored record that does not
	// decode (its data, its subject). A runner dead-letters such a
	// message and goes on; Lookup and Cancel return it for such a record.
	ErrMalformed = errors.New("jetjobs: malformed job message")
	// ErrClosed: the backend has been closed (its dispatcher stopped).
	// It matches jobs.ErrClosed too.
	ErrClosed = fmt.Errorf("jetjobs: closed: %w", jobs.ErrClosed)
	// ErrOutcomeUnknown: Submit could not tell whether it stored its
	// job: the publish of the job's message failed without a refusal
	// (its answer lost: it may be stored) and the record could not be
	// taken back (the store away); or, for a Submit of an id whose job it
	// found queued as created, the job's message was published but its
	// record could not be written again, or its publish failed without a
	// refusal (see the package doc, Records).
	// The job may run. Submit it again with
	// its id (named in the error) to find out: that returns the job if it
	// is stored, and then makes sure that it runs, else submits it; or
	// look it up and cancel it. It matches jobs.ErrUnavailable too.
	// Submit returns it as an *OutcomeUnknownError, whose ID is the job's
	// (errors.As), also one the dispatcher drew.
	ErrOutcomeUnknown = fmt.Errorf("jetjobs: submit's outcome unknown: %w", jobs.ErrUnavailable)
	// ErrNilConn: New was given no NATS connection.
	ErrNilConn = errors.New("jetjobs: nil connection")
	// ErrInvalidOption: an option out of range.
	ErrInvalidOption = errors.New("jetjobs: invalid option")
)

// VersionError is a record of a format version this code does not know.
type VersionError struct {
	Key     string // its key in the jobs bucket, or the message's subject
	Version int
}

// Error names the record and both versions.
func (e *VersionError) Error() string {
	return fmt.Sprintf("jetjobs: %s: record version %d (this code knows %d)", e.Key, e.Version, version)
}

// Unwrap makes a VersionError match ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// OutcomeUnknownError is the error of a Submit whose outcome is unknown
// (see ErrOutcomeUnknown, which it matches, as it does jobs.ErrUnavailable
// and Err): the job may be stored and run. ID names it, so that the
// caller can find out without parsing the error's text: submit its id
// again (jobs.ID) — which returns the job if it is stored and makes sure
// that it runs, else submits it — or look it up and cancel it.
type OutcomeUnknownError struct {
	ID  string // the job's id: the caller's, or the one the dispatcher drew
	Err error  // what failed: the publish of the job's message and the purge of its record, or the publish again or the rewrite of a found job's record
}

// Error names the job and what failed.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%v: job %q: %v", ErrOutcomeUnknown, e.ID, e.Err)
}

// Unwrap makes an OutcomeUnknownError match ErrOutcomeUnknown (so
// jobs.ErrUnavailable) and Err.
func (e *OutcomeUnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.Err} }
