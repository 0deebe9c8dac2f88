package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// gcSettings reads the collector's GOGC and memory limit as it runs.
func gcSettings() (percent, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// TestCollectLateHandsTheCollectorBack: no collection before the heap
// reaches startingHeap, the usual pacing after the first.
func TestCollectLateHandsTheCollectorBack(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: collectLate leaves the collector alone")
	}
	percent, limit := gcSettings()
	t.Cleanup(func() {
		debug.SetGCPercent(int(percent))
		debug.SetMemoryLimit(limit)
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	collectLate()
	if p, l := gcSettings(); p != -1 || l != startingHeap {
		t.Fatalf("after collectLate: GOGC %d, limit %d; want off, %d", p, l, startingHeap)
	}
	// A heap that stays below startingHeap is never collected.
	keep := make([][]byte, 0, 64)
	for range 16 {
		keep = append(keep, make([]byte, 1<<20))
	}
	var mid runtime.MemStats
	runtime.ReadMemStats(&mid)
	if mid.NumGC != before.NumGC {
		t.Errorf("%d collections of a 16 MiB heap", mid.NumGC-before.NumGC)
	}
	runtime.KeepAlive(keep)
	// Past it, the collector runs and the usual pacing comes back.
	var sink []byte
	for i := 0; i < 1<<14; i++ { // up to 16 GiB of garbage: never so many
		sink = make([]byte, 1<<20)
		if p, l := gcSettings(); p == percent && l == limit {
			runtime.KeepAlive(sink)
			return
		}
	}
	p, l := gcSettings()
	t.Fatalf("GOGC %d, limit %d after the heap passed %d: want %d, %d", p, l, startingHeap, percent, limit)
}
