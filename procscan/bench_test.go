package procscan

import (
	"context"
	"testing"
)

// BenchmarkScanFirst is a scan with an empty cache: every process's fixed
// fields are read.
func BenchmarkScanFirst(b *testing.B) {
	ctx := context.Background()
	n := 0
	for b.Loop() {
		tab, err := NewScanner().Scan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(tab.Procs)
	}
	b.ReportMetric(float64(n), "procs")
}

// BenchmarkScanSteady is a scan by a Scanner that has seen the table
// before: only what changes is read.
func BenchmarkScanSteady(b *testing.B) {
	ctx := context.Background()
	s := NewScanner()
	if _, err := s.Scan(ctx); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		tab, err := s.Scan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(tab.Procs)
	}
	b.ReportMetric(float64(n), "procs")
}
