package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/zerocase"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// equal is nil if got == want, else an error saying so.
var equal = zerocase.Is

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value (not made by its constructor, nor returned by the
// package), and the functions that take such values: a sentinel, a
// harmless result, never a panic or a hang. Add a case here with every new
// exported method.
func TestZeroValues(t *testing.T) {
	bg := context.Background()
	var (
		nd  *jobs.Dispatcher
		zd  = &jobs.Dispatcher{}
		nj  *jobs.Job
		zj  = &jobs.Job{}
		nx  *jobs.Executor
		zx  = &jobs.Executor{}
		nr  *jobs.Record
		nc  *jobs.Client
		zc  = &jobs.Client{}
		nh  *jobs.RemoteHost
		zh  = &jobs.RemoteHost{}
		nrj *jobs.RemoteJob
		zrj = &jobs.RemoteJob{}
		ne  *jobs.RemoteError
	)
	closedCh := func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New("channel not closed")
		}
	}
	follow := func(j *jobs.RemoteJob) error {
		for _, err := range j.Follow(bg) {
			return err
		}
		return errors.New("Follow ended cleanly")
	}
	run := func(x *jobs.Executor) error {
		return x.Run(bg, jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running},
			func(any) {}, func(jobs.Record) {})
	}
	ref := jobs.Named[*agent]("a0")
	zerocase.Run(t, []zerocase.Case{
		{"New zero Runtime", func() error { _, err := jobs.New(&troupe.Runtime{}); return err }, actor.ErrNilRuntime},

		// Dispatcher: a nil or zero one is a closed one that holds no job.
		{"Dispatcher.Submit nil", func() error { _, err := nd.Submit(bg, "h", "p", nil); return err }, jobs.ErrClosed},
		{"Dispatcher.Submit zero", func() error { _, err := zd.Submit(bg, "h", "p", nil); return err }, jobs.ErrClosed},
		{"Dispatcher.Job nil", func() error { _, err := nd.Job("x"); return err }, jobs.ErrNotFound},
		{"Dispatcher.Job zero", func() error { _, err := zd.Job("x"); return err }, jobs.ErrNotFound},
		{"Dispatcher.List nil", func() error { return equal(len(nd.List(jobs.Filter{})), 0) }, nil},
		{"Dispatcher.List zero", func() error { return equal(len(zd.List(jobs.Filter{})), 0) }, nil},
		{"Dispatcher.Shutdown nil", func() error { return nd.Shutdown(bg) }, nil},
		{"Dispatcher.Shutdown zero", func() error { return zd.Shutdown(bg) }, nil},
		{"Dispatcher.Close nil", func() error { return nd.Close() }, nil},
		{"Dispatcher.Close zero", func() error { return zd.Close() }, nil},
		{"Register nil Dispatcher", func() error { return jobs.Register(nd, ref, echo) }, jobs.ErrInvalidOption},
		{"Register zero Dispatcher", func() error { return jobs.Register(zd, ref, echo) }, jobs.ErrInvalidOption},
		{"RegisterStream zero Dispatcher", func() error { return jobs.RegisterStream(zd, ref, spin) }, jobs.ErrInvalidOption},

		// Job: a nil or zero one is a job no dispatcher knows, ended.
		{"Job.ID nil", func() error { return equal(nj.ID(), "") }, nil},
		{"Job.ID zero", func() error { return equal(zj.ID(), "") }, nil},
		{"Job.Host nil", func() error { return equal(nj.Host(), "") }, nil},
		{"Job.Host zero", func() error { return equal(zj.Host(), "") }, nil},
		{"Job.Procedure nil", func() error { return equal(nj.Procedure(), "") }, nil},
		{"Job.Procedure zero", func() error { return equal(zj.Procedure(), "") }, nil},
		{"Job.Args nil", func() error { return equal(nj.Args(), nil) }, nil},
		{"Job.Args zero", func() error { return equal(zj.Args(), nil) }, nil},
		{"Job.Info nil", func() error { return equal(nj.Info(), nil) }, nil},
		{"Job.Info zero", func() error { return equal(zj.Info(), nil) }, nil},
		{"Job.Done nil", func() error { return closedCh(nj.Done()) }, nil},
		{"Job.Done zero", func() error { return closedCh(zj.Done()) }, nil},
		{"Job.Status nil", func() error { return equal(nj.Status(), jobs.Status{}) }, nil},
		{"Job.Status zero", func() error { return equal(zj.Status(), jobs.Status{}) }, nil},
		{"Job.Result nil", func() error { _, err := nj.Result(bg, false); return err }, jobs.ErrNotFound},
		{"Job.Result zero", func() error { _, err := zj.Result(bg, false); return err }, jobs.ErrNotFound},
		{"Job.Result nil, wait", func() error { _, err := nj.Result(bg, true); return err }, jobs.ErrNotFound},
		{"Job.Result zero, wait", func() error { _, err := zj.Result(bg, true); return err }, jobs.ErrNotFound},
		{"Job.Cancel nil", func() error { return equal(nj.Cancel(), false) }, nil},
		{"Job.Cancel zero", func() error { return equal(zj.Cancel(), false) }, nil},
		{"Job.Follow nil", func() error { _, err := nj.Follow(bg); return err }, jobs.ErrNotFound},
		{"Job.Follow zero", func() error { _, err := zj.Follow(bg); return err }, jobs.ErrNotFound},
		{"Job.Collected nil", func() error { _, err := nj.Collected(); return err }, jobs.ErrNotFound},
		{"Job.Collected zero", func() error { _, err := zj.Collected(); return err }, jobs.ErrNotFound},

		// Executor: a nil or zero one is that of a closed dispatcher.
		{"Executor.Run nil", func() error { return run(nx) }, jobs.ErrClosed},
		{"Executor.Run zero", func() error { return run(zx) }, jobs.ErrClosed},

		// Record: a nil one is no job.
		{"Record.Status nil", func() error { return equal(nr.Status(), jobs.Status{}) }, nil},
		{"Record.Outcome nil", func() error { _, err := nr.Outcome(); return err }, jobs.ErrNotFound},
		{"Record.Status zero", func() error { return equal((&jobs.Record{}).Status(), jobs.Status{}) }, nil},
		{"Record.Outcome zero", func() error { _, err := (&jobs.Record{}).Outcome(); return err }, jobs.ErrNotFinished},

		// Client, RemoteHost, RemoteJob: not made by NewClient.
		{"Client.List nil", func() error { _, err := nc.List(bg, jobs.Filter{}); return err }, jobs.ErrInvalidOption},
		{"Client.List zero", func() error { _, err := zc.List(bg, jobs.Filter{}); return err }, jobs.ErrInvalidOption},
		{"Client.Host nil", func() error { _, err := nc.Host("h").Call(bg, "p", nil); return err }, jobs.ErrInvalidOption},
		{"Client.Host zero", func() error { _, err := zc.Host("h").Call(bg, "p", nil); return err }, jobs.ErrInvalidOption},
		{"Client.Job nil", func() error { _, err := nc.Job("x").Status(bg); return err }, jobs.ErrInvalidOption},
		{"Client.Job zero", func() error { _, err := zc.Job("x").Status(bg); return err }, jobs.ErrInvalidOption},
		{"RemoteHost.Call nil", func() error { _, err := nh.Call(bg, "p", nil); return err }, jobs.ErrInvalidOption},
		{"RemoteHost.Call zero", func() error { _, err := zh.Call(bg, "p", nil); return err }, jobs.ErrInvalidOption},
		{"RemoteJob.ID nil", func() error { return equal(nrj.ID(), "") }, nil},
		{"RemoteJob.ID zero", func() error { return equal(zrj.ID(), "") }, nil},
		{"RemoteJob.Status nil", func() error { _, err := nrj.Status(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Status zero", func() error { _, err := zrj.Status(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Info nil", func() error { _, err := nrj.Info(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Info zero", func() error { _, err := zrj.Info(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Args nil", func() error { _, err := nrj.Args(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Args zero", func() error { _, err := zrj.Args(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Result nil", func() error { _, err := nrj.Result(bg, true); return err }, jobs.ErrNotFound},
		{"RemoteJob.Result zero", func() error { _, err := zrj.Result(bg, true); return err }, jobs.ErrNotFound},
		{"RemoteJob.Cancel nil", func() error { _, err := nrj.Cancel(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Cancel zero", func() error { _, err := zrj.Cancel(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Follow nil", func() error { return follow(nrj) }, jobs.ErrNotFound},
		{"RemoteJob.Follow zero", func() error { return follow(zrj) }, jobs.ErrNotFound},
		{"RemoteJob.Collected nil", func() error { _, err := nrj.Collected(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Collected zero", func() error { _, err := zrj.Collected(bg); return err }, jobs.ErrNotFound},
		{"RemoteJob.Follow of a zero Client", func() error { return follow(zc.Job("x")) }, jobs.ErrInvalidOption},

		// RemoteError: a nil one (an error interface holding it).
		{"RemoteError.Error nil", func() error { return equal(ne.Error() != "", true) }, nil},
		{"RemoteError.Is nil", func() error { return equal(ne.Is(jobs.ErrNotFound), false) }, nil},
		{"RemoteError.Error zero", func() error { return equal((&jobs.RemoteError{}).Error() != "", true) }, nil},
	})
}
