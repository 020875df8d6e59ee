// Command web is vanilla's HTTP server on troupe: every user session is an
// actor, got or made by name on each request (runtime.LookupOrSpawn) and
// stopped after a spell without requests (actor.WithIdleTimeout), unless
// a stream of its notes is open (a user watching them live). A page
// and a small JSON API make calls against the session; its notes are also
// a stream, served as server-sent events and as JSON lines. On SIGINT the
// http.Server shuts down first (requests finish; streams end so that
// browsers resume elsewhere), then the runtime (sessions stop).
//
//	go run ./examples/web -addr 127.0.0.1:8080
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	ttl := flag.Duration("ttl", 10*time.Minute, "a session stops after this long without a request or an open stream")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s/\n", l.Addr())
	if err := serveUntilInterrupt(l, *ttl, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// serveUntilInterrupt serves on l until SIGINT; started, if not nil, runs
// once the server is up and the signal is watched.
func serveUntilInterrupt(l net.Listener, ttl time.Duration, started func()) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // from the first Ctrl-C on, a second one ends the process at once
	return run(ctx, l, ttl, 10*time.Second, started)
}

// run serves on l until ctx ends, then shuts down within grace: the
// http.Server first, then the runtime.
func run(ctx context.Context, l net.Listener, ttl, grace time.Duration, started func()) error {
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	closing, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	hs := &http.Server{Handler: newApp(rt, ttl, closing).routes(), ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(endStreams) // Shutdown waits for requests, and a stream never ends by itself
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	if started != nil {
		started()
	}
	select {
	case <-ctx.Done():
	case err = <-served:
		served <- err
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if herr := hs.Shutdown(sctx); herr != nil {
		_ = hs.Close()
		err = errors.Join(err, herr)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return errors.Join(err, rt.Shutdown(sctx))
}

// app serves sessions on a runtime.
type app struct {
	rt      *troupe.Runtime
	ttl     time.Duration
	closing context.Context // cancelled when the server shuts down: streams end

	// picked, if set (by tests), runs on each session the Target picks,
	// before it is called: a test stops it there, as if it expired.
	picked func(*actor.Ref[*Session])
}

func newApp(rt *troupe.Runtime, ttl time.Duration, closing context.Context) *app {
	return &app{rt: rt, ttl: ttl, closing: closing}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("POST /notes", a.addNoteForm)
	mux.Handle("GET /api/session", api(a, Look, noBody))
	mux.Handle("POST /api/notes", api(a, AddNote, serve.DecodeJSON[Note]))
	mux.Handle("GET /api/notes/events", a.untilClosing(retryStopped(func(opts ...serve.MethodOption) http.Handler {
		return serve.SSE(Notes, a.session, noBody, text, opts...)
	})))
	mux.Handle("GET /api/notes/lines", a.untilClosing(retryStopped(func(opts ...serve.MethodOption) http.Handler {
		return serve.JSONLines(Notes, a.session, noBody, opts...)
	})))
	return withSessionID(mux)
}

// session is the serve.Target of every route: the session actor of the
// request's session id, made on its first request.
func (a *app) session(r *http.Request) (*actor.Ref[*Session], error) {
	id := sessionID(r)
	ref, _, err := troupe.LookupOrSpawn(r.Context(), a.rt, "session:"+id, func() *Session { return &Session{ID: id} },
		actor.WithIdleTimeout(a.ttl, Expire, struct{}{}))
	if err == nil && a.picked != nil {
		a.picked(ref)
	}
	return ref, err
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<title>troupe sessions</title>
<h1>Session {{.ID}}</h1>
<p>Visits: {{.Visits}}</p>
<ul id="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/notes"><input name="text" autofocus> <button>Add a note</button></form>
<p>API: <a href="/api/session">GET /api/session</a> · POST /api/notes {"text": "…"} ·
<a href="/api/notes/lines">GET /api/notes/lines</a> · GET /api/notes/events (below, live)</p>
<ul id="live"></ul>
<script>
new EventSource("/api/notes/events").onmessage = e => {
	const li = document.createElement("li");
	li.textContent = "#" + e.lastEventId + ": " + e.data;
	document.getElementById("live").append(li);
};
</script>
`))

// page is the session's page: a visit, then its view.
func (a *app) page(w http.ResponseWriter, r *http.Request) {
	v, err := callSession(r, a, Visit, struct{}{})
	if err != nil {
		answerError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, v)
}

// addNoteForm adds the form's note and goes back to the page.
func (a *app) addNoteForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		answerError(w, badRequest(err))
		return
	}
	if _, err := callSession(r, a, AddNote, Note{Text: r.PostForm.Get("text")}); err != nil {
		answerError(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// maxBody caps request bodies.
const maxBody = 4 << 10

// api serves m on the request's session as JSON, as serve.Method does (a
// capped body read to its end, decode errors 400, serve.StatusOf's statuses), but through
// callSession: a session that expired between its lookup and the call is
// made again, once, as for the page and the form. serve.Method calls its
// Target once, so there it would be a 503.
func api[Q, R any](a *app, m *actor.Method[*Session, Q, R], decode func(*http.Request) (Q, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		q, err := decode(r)
		if err == nil {
			_, err = io.Copy(io.Discard, r.Body) // what decode left: a body over the cap is 413
		}
		if err != nil {
			answerError(w, badRequest(err))
			return
		}
		v, err := callSession(r, a, m, q)
		if err != nil {
			answerError(w, err)
			return
		}
		_ = serve.EncodeJSON(w, v)
	})
}

// badRequest makes an error reading the request a 400, unless StatusOf
// has a status for it (a body over the cap is 413).
func badRequest(err error) error {
	if serve.StatusOf(err) == http.StatusInternalServerError {
		return &serve.StatusError{Code: http.StatusBadRequest, Err: err}
	}
	return err
}

// answerError answers err with serve.StatusOf's status, as serve.Method
// does: the message of a *serve.StatusError or of a 4xx, else the status
// text.
func answerError(w http.ResponseWriter, err error) {
	code := serve.StatusOf(err)
	msg := http.StatusText(code)
	var se *serve.StatusError
	if errors.As(err, &se) {
		msg = se.Err.Error()
	} else if code < 500 {
		msg = err.Error()
	}
	http.Error(w, msg, code)
}

// callSession calls m on the request's session. A session that stopped
// (expired) between its lookup and the call is made again, once.
func callSession[Q, R any](r *http.Request, a *app, m *actor.Method[*Session, Q, R], q Q) (R, error) {
	for try := 0; ; try++ {
		ref, err := a.session(r)
		if err != nil {
			var zero R
			return zero, err
		}
		v, err := m.Call(r.Context(), ref, q)
		if !errors.Is(err, actor.ErrStopped) || try == 1 {
			return v, err
		}
	}
}

// retryStopped serves the stream handler that stream makes, through its
// error writer (serve.WithErrorWriter, called before anything else is
// written): a session that stopped (expired) between its lookup and the
// stream's open, which serve.SSE and serve.JSONLines answer 503, is made
// again, once, by serving the request again, as callSession does for the
// other routes.
func retryStopped(stream func(opts ...serve.MethodOption) http.Handler) http.Handler {
	again := stream(serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, _ int, err error) {
		answerError(w, err)
	}))
	return stream(serve.WithErrorWriter(func(w http.ResponseWriter, r *http.Request, _ int, err error) {
		if errors.Is(err, actor.ErrStopped) {
			again.ServeHTTP(w, r)
			return
		}
		answerError(w, err)
	}))
}

// untilClosing ends a stream's request when the server shuts down: the
// browser's EventSource then resumes (Last-Event-ID) wherever it
// reconnects.
func (a *app) untilClosing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(a.closing, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func noBody(*http.Request) (struct{}, error) { return struct{}{}, nil }

func text(s string) ([]byte, error) { return []byte(s), nil }

// The session id travels in a cookie; withSessionID gives a request
// without a valid one a new id.
const cookieName = "sid"

type sidKey struct{}

func withSessionID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if c, err := r.Cookie(cookieName); err == nil && validID(c.Value) {
			id = c.Value
		} else {
			id = newID()
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sidKey{}, id)))
	})
}

func sessionID(r *http.Request) string { return r.Context().Value(sidKey{}).(string) }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
