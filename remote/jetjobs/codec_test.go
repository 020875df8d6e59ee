package jetjobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// codecRecords are records of every shape: the fast path's and those it
// leaves to encoding/json.
func codecRecords() []jobs.Record {
	at := time.Date(2026, 12, 4, 20, 30, 1, 123456789, time.UTC)
	east := time.FixedZone("east", 5*3600+30*60)
	full := jobs.Record{ID: "d00d-1", Host: "web", Procedure: "echo", Queue: "q", Concurrency: 8,
		Args: json.RawMessage(`{"a":[1,2,{"b":"c,}"}],"d":"\"q\""}`), Info: json.RawMessage(`"i"`),
		MaxExec: time.Second, ReadIdle: -time.Millisecond, State: jobs.Failed, Submitted: at,
		Started: at.In(east), Ended: at.Add(time.Hour).Local(), Value: json.RawMessage(`null`),
		Error: &jobs.RemoteError{Type: "boom", Message: "it broke", Data: json.RawMessage(`[1]`)}, Node: "b"}
	recs := []jobs.Record{full, {ID: "x", Host: "h", Procedure: "p", State: jobs.Queued, Submitted: at},
		{ID: "x", Host: "h", Procedure: "p", State: jobs.Done, Submitted: at, Error: &jobs.RemoteError{}}}
	for _, f := range []func(r *jobs.Record){
		func(r *jobs.Record) { r.ID = "é" },
		func(r *jobs.Record) { r.ID = "<a&b>" },
		func(r *jobs.Record) { r.Host = "tab\there" },
		func(r *jobs.Record) { r.Node = `q"uote\` },
		func(r *jobs.Record) { r.Queue = "\u2028" },
		func(r *jobs.Record) { r.Args = json.RawMessage(`{ "a": 1 }`) },
		func(r *jobs.Record) { r.Args = json.RawMessage(`"<b>"`) },
		func(r *jobs.Record) { r.Info = json.RawMessage(`"é"`) },
		func(r *jobs.Record) { r.Value = json.RawMessage(`{"a":`) },
		func(r *jobs.Record) { r.Error.Data = json.RawMessage(`not json`) },
		func(r *jobs.Record) { r.Error.Also = []string{"closed"} },
		func(r *jobs.Record) { r.Error.Also = []string{"closed", "not_found"} },
		func(r *jobs.Record) { r.Error.Also = []string{"é"} },
		func(r *jobs.Record) { r.Error.Also = []string{} },
		func(r *jobs.Record) { r.Submitted = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(r *jobs.Record) { r.Started = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(r *jobs.Record) { r.Ended = at.In(time.FixedZone("far", 25*3600)) },
		func(r *jobs.Record) { r.Ended = at.In(time.FixedZone("secs", 3600+7)) },
		func(r *jobs.Record) { r.Concurrency = -1 },
	} {
		r := full
		r.Error = &jobs.RemoteError{Type: "t", Message: "m", Data: json.RawMessage(`{}`)}
		f(&r)
		recs = append(recs, r)
	}
	return recs
}

// TestAppendJob: the fast encoder writes json.Marshal's bytes, or leaves
// the record to it (and then json.Marshal's are used).
func TestAppendJob(t *testing.T) {
	fast := 0
	for i, r := range codecRecords() {
		want, werr := json.Marshal(&r)
		got, ok := appendJob(nil, &r)
		switch {
		case ok && (werr != nil || !bytes.Equal(got, want)):
			t.Fatalf("record %d: got %s; want %s (%v)", i, got, want, werr)
		case ok:
			fast++
			if e, ok := decodeFast(wrap(got, 7, 0)); !ok || e.Rev != 7 {
				t.Fatalf("record %d: decodeFast of its envelope: %v, revision %d", i, ok, e.Rev)
			}
			if e, ok := decodeFast(wrap(got, 0, 5)); !ok || e.Rev != 0 || e.Gen != 5 {
				t.Fatalf("record %d: decodeFast of its envelope of generation 5: %v, revision %d, generation %d", i, ok, e.Rev, e.Gen)
			}
		}
		if werr == nil && !bytes.Equal(encodeJob(&r), want) {
			t.Fatalf("record %d: encodeJob: got %s; want %s", i, encodeJob(&r), want)
		}
	}
	if fast < 4 {
		t.Fatalf("fast path taken %d times; want the plain records' (at least 4)", fast)
	}
}

// FuzzCodec: decode reads whatever it is given as encoding/json does
// (decodeJSON): the same envelope, or an error of the same text.
func FuzzCodec(f *testing.F) {
	for _, r := range codecRecords() {
		if b, err := json.Marshal(envelope{V: version, Rev: 42, Job: r}); err == nil {
			f.Add(b)
		}
		if b, err := json.Marshal(envelope{V: version, Job: r}); err == nil {
			f.Add(b)
			f.Add(bytes.ReplaceAll(b, []byte(`,"`), []byte(`, "`)))
			f.Add(bytes.ReplaceAll(b, []byte(`"id"`), []byte(`"ID"`)))
			f.Add(bytes.ReplaceAll(b, []byte(`:1,`), []byte(`:2,`)))
			f.Add(append(b, ' '))
			f.Add(b[:len(b)-1])
		}
	}
	f.Add([]byte(`{"v":1,"rev":-1,"job":{"id":"x","host":"h","procedure":"p","state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"rev":007,"job":{"id":"x","host":"h","procedure":"p","state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"job":{"id":"x","id":"y","host":"h","procedure":"p","state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"job":{"id":"x","host":"h","procedure":"p","args": 1,"state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"job":{"id":"x","host":"h","procedure":"p","concurrency":1.5,"state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"job":{"id":"x","host":"h","procedure":"p","state":"queued","submit_time":"2026-13-01T00:00:00Z"}}`))
	f.Add([]byte(`{"v":1,"job":{"id":"","host":"h","procedure":"p","state":"queued","submit_time":"2026-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := decode("k", data)
		want, werr := decodeJSON("k", data)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("decode %q:\n got %+v, %v\nwant %+v, %v", data, got, gerr, want, werr)
		}
		if gerr != nil {
			return
		}
		// And a record decoded encodes as json.Marshal writes it.
		enc, ok := appendJob(nil, &got.Job)
		if std, err := json.Marshal(&got.Job); ok && (err != nil || !bytes.Equal(enc, std)) {
			t.Fatalf("appendJob: got %s; want %s", enc, std)
		}
	})
}

// TestAppendJobKnowsEveryField: a record with every field set, whatever
// fields jobs.Record has, encodes as json.Marshal writes it — a field
// added to jobs.Record (or jobs.RemoteError) fails this test until
// appendJob and decodeFast know it.
func TestAppendJobKnowsEveryField(t *testing.T) {
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := range v.NumField() {
			f := v.Field(i)
			if v.Type().Field(i).Tag.Get("json") == "-" {
				continue // not stored (Record.Gen: the envelope's)
			}
			switch {
			case f.Type() == reflect.TypeFor[time.Time]():
				f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).Add(time.Duration(i) * time.Second)))
			case f.Type() == reflect.TypeFor[json.RawMessage]():
				f.Set(reflect.ValueOf(json.RawMessage(fmt.Sprint(i))))
			case f.Type() == reflect.TypeFor[[]string]():
				f.Set(reflect.ValueOf([]string{fmt.Sprint("s", i), fmt.Sprint("t", i)}))
			case f.Kind() == reflect.String:
				f.SetString(fmt.Sprint("s", i))
			case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
				f.SetInt(int64(i + 1))
			case f.Type() == reflect.TypeFor[*jobs.RemoteError]():
				e := &jobs.RemoteError{}
				fill(reflect.ValueOf(e).Elem())
				f.Set(reflect.ValueOf(e))
			default:
				t.Fatalf("%s.%s: a field of type %s: teach appendJob and decodeFast", v.Type(), v.Type().Field(i).Name, f.Type())
			}
		}
	}
	var r jobs.Record
	fill(reflect.ValueOf(&r).Elem())
	want, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendJob(nil, &r)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("appendJob of a record with every field set: got %s, %v; want %s", got, ok, want)
	}
	e, ok := decodeFast(wrap(got, 1, 0))
	if !ok || !reflect.DeepEqual(e.Job, r) {
		t.Fatalf("decodeFast: got %+v, %v; want %+v", e.Job, ok, r)
	}
}
