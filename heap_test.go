package main

import (
	"math"
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

// untilSettled collects until the collector is as it was before any
// collectLate: a check this process ran earlier (the command-line tests
// run them in it) hands it back at its first collection, in a cleanup
// that runs soon after.
func untilSettled(t *testing.T) {
	t.Helper()
	for range 10000 {
		if p, l := gcSettings(); p >= 0 && l == math.MaxInt64 {
			return
		}
		runtime.GC()
		runtime.Gosched()
	}
	p, l := gcSettings()
	t.Fatalf("the collector stays off (GOGC %d, limit %d) after collections: an earlier collectLate never handed it back", p, l)
}

// TestCollectLateHandsTheCollectorBack: no collection before the memory
// reaches lateLimit, the usual pacing after the first, and a second call
// before that collection changes nothing.
func TestCollectLateHandsTheCollectorBack(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: collectLate leaves the collector alone")
	}
	untilSettled(t)
	percent, limit := gcSettings()
	t.Cleanup(func() {
		debug.SetGCPercent(int(percent))
		debug.SetMemoryLimit(limit)
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// After a collection, the heap's free pages are not fresh: no advice.
	if r := collectLate(true); !r.Empty() {
		t.Errorf("collectLate after collections advised [%#x, %#x)", r.Lo, r.Hi)
	}
	if r := collectLate(true); !r.Empty() {
		t.Errorf("a second collectLate advised [%#x, %#x)", r.Lo, r.Hi)
	}
	if p, l := gcSettings(); p != -1 || l != lateLimit {
		t.Fatalf("after collectLate: GOGC %d, limit %d; want off, %d", p, l, lateLimit)
	}
	// A heap that stays well below the limit is never collected: a
	// quarter of the room this process leaves under it (earlier tests
	// hold memory of their own). The limit counts what the runtime has
	// mapped, less what it has given back to the system.
	mem := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(mem)
	held := mem[0].Value.Uint64() - mem[1].Value.Uint64()
	room := int64(lateLimit) - int64(held)
	keep := make([][]byte, 0, 64)
	for range min(room/4>>20, 16) {
		keep = append(keep, make([]byte, 1<<20))
	}
	var mid runtime.MemStats
	runtime.ReadMemStats(&mid)
	if mid.NumGC != before.NumGC {
		t.Errorf("%d collections of a heap of %d MiB more, %d MiB under the limit", mid.NumGC-before.NumGC, len(keep), room>>20)
	}
	if len(keep) < 4 {
		t.Logf("only %d MiB kept: this process holds %d MiB already", len(keep), held>>20)
	}
	runtime.KeepAlive(keep)
	// Past it, the collector runs and the usual pacing comes back.
	var sink []byte
	for range 1 << 14 { // up to 16 GiB of garbage: never so many
		sink = make([]byte, 1<<20)
		if p, l := gcSettings(); p == percent && l == limit {
			runtime.KeepAlive(sink)
			return
		}
	}
	p, l := gcSettings()
	t.Fatalf("GOGC %d, limit %d after the memory passed %d: want %d, %d", p, l, lateLimit, percent, limit)
}
