package jetjobs

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// A fast path for the envelope's JSON, with encoding/json as its fallback:
// a job's record is encoded three times and decoded twice on its way from
// submit to result, each time on the way. appendJob writes the bytes
// json.Marshal writes for a record of plain ASCII strings, compact raw
// values and RFC 3339 times (every record this package writes, in
// practice), and declines the others; decodeFast reads the form wrap
// writes, exactly, and declines any other (escapes, other spacing, key
// order or case, unknown keys, other versions). FuzzCodec checks both
// against encoding/json.

// appendJob appends r as json.Marshal writes it, or returns false.
func appendJob(b []byte, r *jobs.Record) ([]byte, bool) {
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if (omitEmpty && s == "") || !ok {
			return
		}
		if ok = plain(s); ok {
			b = append(append(append(append(b, key...), '"'), s...), '"')
		}
	}
	num := func(key string, n int64) {
		if n != 0 && ok {
			b = strconv.AppendInt(append(b, key...), n, 10)
		}
	}
	raw := func(key string, v json.RawMessage) {
		if len(v) == 0 || !ok {
			return
		}
		if ok = compactRaw(v); ok {
			b = append(append(b, key...), v...)
		}
	}
	tm := func(key string, t time.Time, omitZero bool) {
		if (omitZero && t.IsZero()) || !ok {
			return
		}
		b = append(append(b, key...), '"')
		n := len(b)
		b = t.AppendFormat(b, time.RFC3339Nano)
		ok = strictRFC3339(b[n:])
		b = append(b, '"')
	}
	b = append(b, '{')
	str(`"id":`, r.ID, false)
	str(`,"host":`, r.Host, false)
	str(`,"procedure":`, r.Procedure, false)
	str(`,"queue":`, r.Queue, true)
	num(`,"concurrency":`, int64(r.Concurrency))
	raw(`,"args":`, r.Args)
	raw(`,"info":`, r.Info)
	num(`,"max_exec":`, int64(r.MaxExec))
	num(`,"read_idle":`, int64(r.ReadIdle))
	str(`,"state":`, string(r.State), false)
	tm(`,"submit_time":`, r.Submitted, false)
	tm(`,"start_time":`, r.Started, true)
	tm(`,"end_time":`, r.Ended, true)
	raw(`,"value":`, r.Value)
	if e := r.Error; e != nil && ok {
		b = append(b, `,"error":{`...)
		str(`"type":`, e.Type, false)
		str(`,"message":`, e.Message, false)
		raw(`,"data":`, e.Data)
		for i, t := range e.Also {
			if i == 0 {
				b = append(b, `,"also":[`...)
			} else {
				b = append(b, ',')
			}
			str("", t, false)
		}
		if len(e.Also) > 0 {
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	str(`,"node":`, r.Node, true)
	return append(b, '}'), ok
}

// plain: s is written by json.Marshal as it is, between quotes (printable
// ASCII, no quote, backslash or HTML character).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// compactRaw: v is valid JSON that json.Marshal writes as it is (already
// compact: no spacing; ASCII; no HTML character).
func compactRaw(v []byte) bool {
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return json.Valid(v)
}

// strictRFC3339: t, as AppendFormat wrote it in RFC 3339, is what
// time.Time.MarshalJSON writes (a 4-digit year, a zone hour below 24).
func strictRFC3339(t []byte) bool {
	if len(t) < len("2006-01-02T15:04:05Z") || t[4] != '-' {
		return false
	}
	if t[len(t)-1] == 'Z' {
		return true
	}
	h := t[len(t)-len("07:00"):]
	c := t[len(t)-len("Z07:00")]
	return (c == '+' || c == '-') && 10*(h[0]-'0')+(h[1]-'0') < 24
}

// decodeFast reads an envelope of this version in the form wrap and
// appendJob write, or returns false.
func decodeFast(data []byte) (e envelope, ok bool) {
	p := parser{data: data}
	if !p.lit(versionKey) {
		return e, false
	}
	if p.lit(`"rev":`) {
		n, ok := p.number()
		if !ok || n < 0 || !p.lit(",") {
			return e, false
		}
		e.Rev = uint64(n)
	}
	if p.lit(`"gen":`) {
		n, ok := p.number()
		if !ok || n <= 0 || !p.lit(",") {
			return e, false
		}
		e.Gen = uint64(n)
	}
	if !p.lit(`"job":`) || !p.record(&e.Job) || !p.lit("}") || p.i != len(data) || !json.Valid(data) {
		return envelope{}, false
	}
	e.V = version
	return e, true
}

// versionKey begins an envelope of this version.
var versionKey = `{"v":` + strconv.Itoa(version) + `,`

// parser reads the canonical form of an envelope; any other byte than
// the one it expects fails it.
type parser struct {
	data []byte
	i    int
}

func (p *parser) lit(s string) bool {
	if len(p.data)-p.i < len(s) || string(p.data[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// key reads a key of keys (`"name":`, after a comma unless first) if it
// is next, at from or after; it returns its index in keys.
func (p *parser) key(first bool, keys []string, from int) (int, bool) {
	save := p.i
	if !first && !p.lit(",") {
		return 0, false
	}
	for k := from; k < len(keys); k++ {
		if p.lit(keys[k]) {
			return k, true
		}
	}
	p.i = save
	return 0, false
}

// str reads a string without escapes and of ASCII only.
func (p *parser) str() (string, bool) {
	if !p.lit(`"`) {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			return string(p.data[start : p.i-1]), true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return "", false
		}
	}
	return "", false
}

// strs reads a non-empty array of strings as str does (json.Marshal
// omits an empty one, and decodes [] as an empty slice, not nil).
func (p *parser) strs() ([]string, bool) {
	if !p.lit("[") {
		return nil, false
	}
	var ss []string
	for first := true; first || p.lit(","); first = false {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		ss = append(ss, s)
	}
	return ss, p.lit("]")
}

// number reads an integer as json.Marshal writes one.
func (p *parser) number() (int64, bool) {
	start := p.i
	if p.i < len(p.data) && p.data[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.data[start:p.i]), 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != string(p.data[start:p.i]) {
		return 0, false // not canonical: -0, leading zeros, a fraction follows
	}
	return n, true
}

// raw reads a JSON value without spacing around it (the whole envelope
// is checked valid at the end) and returns a copy of it, as
// json.RawMessage's UnmarshalJSON keeps one.
func (p *parser) raw() (json.RawMessage, bool) {
	start, depth := p.i, 0
	for ; p.i < len(p.data); p.i++ {
		switch p.data[p.i] {
		case '"':
			for p.i++; p.i < len(p.data) && p.data[p.i] != '"'; p.i++ {
				if p.data[p.i] == '\\' {
					p.i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']', ',':
			if depth > 0 && p.data[p.i] != ',' {
				depth--
				continue
			}
			if depth > 0 {
				continue
			}
			v := p.data[start:p.i]
			if len(v) == 0 || v[0] <= ' ' || v[len(v)-1] <= ' ' {
				return nil, false
			}
			return append(json.RawMessage(nil), v...), true
		}
	}
	return nil, false
}

func (p *parser) time() (time.Time, bool) {
	start := p.i
	if _, ok := p.str(); !ok {
		return time.Time{}, false
	}
	var t time.Time
	return t, t.UnmarshalJSON(p.data[start:p.i]) == nil
}

// The keys of a record and of its error, in the order json.Marshal
// writes them.
var (
	recordKeys = []string{`"id":`, `"host":`, `"procedure":`, `"queue":`, `"concurrency":`, `"args":`,
		`"info":`, `"max_exec":`, `"read_idle":`, `"state":`, `"submit_time":`, `"start_time":`,
		`"end_time":`, `"value":`, `"error":`, `"node":`}
	errorKeys = []string{`"type":`, `"message":`, `"data":`, `"also":`}
)

// record reads a record's object: its keys in their order, each once.
func (p *parser) record(r *jobs.Record) bool {
	if !p.lit("{") {
		return false
	}
	ok := true
	for k, first := 0, true; ok; first = false {
		var found bool
		if k, found = p.key(first, recordKeys, k); !found {
			break
		}
		var n int64
		switch recordKeys[k] {
		case `"id":`:
			r.ID, ok = p.str()
		case `"host":`:
			r.Host, ok = p.str()
		case `"procedure":`:
			r.Procedure, ok = p.str()
		case `"queue":`:
			r.Queue, ok = p.str()
		case `"concurrency":`:
			n, ok = p.number()
			r.Concurrency = int(n)
			ok = ok && int64(r.Concurrency) == n
		case `"args":`:
			r.Args, ok = p.raw()
		case `"info":`:
			r.Info, ok = p.raw()
		case `"max_exec":`:
			n, ok = p.number()
			r.MaxExec = time.Duration(n)
		case `"read_idle":`:
			n, ok = p.number()
			r.ReadIdle = time.Duration(n)
		case `"state":`:
			var s string
			s, ok = p.str()
			r.State = jobs.State(s)
		case `"submit_time":`:
			r.Submitted, ok = p.time()
		case `"start_time":`:
			r.Started, ok = p.time()
		case `"end_time":`:
			r.Ended, ok = p.time()
		case `"value":`:
			r.Value, ok = p.raw()
		case `"error":`:
			r.Error, ok = p.remoteError()
		case `"node":`:
			r.Node, ok = p.str()
		}
		k++
	}
	return ok && p.lit("}")
}

func (p *parser) remoteError() (*jobs.RemoteError, bool) {
	if !p.lit("{") {
		return nil, false
	}
	e := &jobs.RemoteError{}
	ok := true
	for k, first := 0, true; ok; first = false {
		var found bool
		if k, found = p.key(first, errorKeys, k); !found {
			break
		}
		switch errorKeys[k] {
		case `"type":`:
			e.Type, ok = p.str()
		case `"message":`:
			e.Message, ok = p.str()
		case `"data":`:
			e.Data, ok = p.raw()
		case `"also":`:
			e.Also, ok = p.strs()
		}
		k++
	}
	return e, ok && p.lit("}")
}
