package procscan

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used: the
// machine the benchmarks run on is shared, and a scan's CPU time varies
// less than its wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchScans runs scan in a loop and reports the table's size and the CPU
// time per scan.
func benchScans(b *testing.B, scan func() (*Table, error)) {
	n := 0
	cpu := cpuTime(b)
	for b.Loop() {
		tab, err := scan()
		if err != nil {
			b.Fatal(err)
		}
		n = len(tab.Procs)
	}
	b.ReportMetric(float64(n), "procs")
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkScanFirst is a scan with an empty cache: every process's fixed
// fields are read.
func BenchmarkScanFirst(b *testing.B) {
	ctx := context.Background()
	benchScans(b, func() (*Table, error) { return NewScanner().Scan(ctx) })
}

// BenchmarkScanFirstEnv is a first scan followed by the environments a
// check asks for: those of the claudes, their descendants and their
// ancestors (reconcile.EnvNeeded).
func BenchmarkScanFirstEnv(b *testing.B) {
	ctx := context.Background()
	m := DefaultMatcher()
	benchScans(b, func() (*Table, error) {
		s := NewScanner()
		tab, err := s.Scan(ctx)
		if err != nil {
			return nil, err
		}
		var need []int32
		for pid, p := range tab.Procs {
			if m.Match(p) {
				need = append(append(append(need, pid), tab.Descendants(pid)...), tab.Ancestors(pid)...)
			}
		}
		return tab, s.ReadEnv(ctx, tab, need)
	})
}

// BenchmarkScanSteady is a scan by a Scanner that has seen the table
// before: only what changes is read.
func BenchmarkScanSteady(b *testing.B) {
	ctx := context.Background()
	s := NewScanner()
	if _, err := s.Scan(ctx); err != nil {
		b.Fatal(err)
	}
	benchScans(b, func() (*Table, error) { return s.Scan(ctx) })
}
