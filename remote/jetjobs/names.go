package jetjobs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Where things are, for a prefix p (ids, hosts, queues and procedures are
// base64url-encoded into single tokens: any job id fits a subject):
//
//	stream p_queue   work queue   p.run.<host>.<queue>   one message per job, "_" for no queue
//	stream p_out     limits       p.out.<id>             a job's output items, then its end marker
//	stream p_dead    limits       p.dead.<reason>        dead letters
//	bucket p_jobs    key <id>                            the job's record, versioned
//	bucket p_procs   key <host>.<procedure>              the procedures some node registered
//	bucket p_queues  key <host>.<queue>                  the queues (their consumers) of each host
//	core   p.cancel.<node>                               cancel requests to the node running a job
//	core   p.end.<id>                                    "it has ended", for whoever awaits it
//
// A queue's consumer is durable, named after a hash of host and queue,
// with MaxAckPending = the queue's concurrency.
func tok(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func untok(t string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	return string(b), err == nil
}

const noQueue = "_"

func queueTok(queue string) string {
	if queue == "" {
		return noQueue
	}
	return tok(queue)
}

func (b *Backend) runSubject(host, queue string) string {
	return b.cfg.prefix + ".run." + tok(host) + "." + queueTok(queue)
}

func (b *Backend) outSubject(id string) string      { return b.cfg.prefix + ".out." + tok(id) }
func (b *Backend) endSubject(id string) string      { return b.cfg.prefix + ".end." + tok(id) }
func (b *Backend) cancelSubject(node string) string { return b.cfg.prefix + ".cancel." + tok(node) }
func (b *Backend) deadSubject(reason string) string { return b.cfg.prefix + ".dead." + reason }

// parseRun returns host and queue of a run subject.
func (b *Backend) parseRun(subject string) (host, queue string, ok bool) {
	rest, ok := strings.CutPrefix(subject, b.cfg.prefix+".run.")
	if !ok {
		return "", "", false
	}
	ht, qt, ok := strings.Cut(rest, ".")
	if !ok {
		return "", "", false
	}
	if host, ok = untok(ht); !ok || host == "" {
		return "", "", false
	}
	if qt == noQueue {
		return host, "", true
	}
	queue, ok = untok(qt)
	return host, queue, ok && queue != ""
}

func consumerName(host, queue string) string {
	h := sha256.Sum256([]byte(host + "\x00" + queue))
	return "q_" + hex.EncodeToString(h[:16])
}

func procKey(host, proc string) string   { return tok(host) + "." + tok(proc) }
func queueKey(host, queue string) string { return tok(host) + "." + queueTok(queue) }
