package main

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/serve"
)

// Session is a user's session: an actor, so its state needs no lock.
type Session struct {
	ID     string
	visits int
	notes  []string
	feeds  []*actor.Out[string] // the open Notes streams
}

// View is what a session shows.
type View struct {
	ID     string   `json:"id"`
	Visits int      `json:"visits"`
	Notes  []string `json:"notes"`
}

// Note is a note to add.
type Note struct {
	Text string `json:"text"`
}

var errEmptyNote = errors.New("empty note")

func (s *Session) view() View {
	return View{ID: s.ID, Visits: s.visits, Notes: append([]string{}, s.notes...)}
}

var (
	// Visit counts a visit of the page.
	Visit = actor.NewMethod("visit", func(s *Session, _ *actor.Ctx, _ struct{}) (View, error) {
		s.visits++
		return s.view(), nil
	})
	// Look returns the session's view.
	Look = actor.NewMethod("look", func(s *Session, _ *actor.Ctx, _ struct{}) (View, error) {
		return s.view(), nil
	})
	// AddNote adds a note, and sends it to the open Notes streams.
	AddNote = actor.NewMethod("add-note", func(s *Session, _ *actor.Ctx, n Note) (View, error) {
		text := strings.TrimSpace(n.Text)
		if text == "" {
			return View{}, &serve.StatusError{Code: http.StatusBadRequest, Err: errEmptyNote}
		}
		s.notes = append(s.notes, text)
		s.feeds = slices.DeleteFunc(s.feeds, func(o *actor.Out[string]) bool {
			return o.Send(text) != nil || o.Context().Err() != nil // ended, or nobody reads it
		})
		return s.view(), nil
	})
	// Notes streams the session's notes: those it has, then each new one.
	Notes = actor.NewStream("notes", func(s *Session, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		for _, n := range s.notes {
			_ = out.Send(n)
		}
		s.feeds = append(s.feeds, out)
		return nil
	})
	// Expire stops the session: its idle timeout. A session with a Notes
	// stream open (a user watching the notes live) is not idle: it
	// restarts its idle count instead, so that it expires a ttl or two
	// after its last stream closed, not under an open one.
	Expire = actor.NewMethod("expire", func(s *Session, c *actor.Ctx, _ struct{}) (struct{}, error) {
		s.feeds = slices.DeleteFunc(s.feeds, func(o *actor.Out[string]) bool {
			return o.Context().Err() != nil // nobody reads it
		})
		if len(s.feeds) > 0 {
			c.TouchIdle()
			return struct{}{}, nil
		}
		c.Stop()
		return struct{}{}, nil
	})
)
