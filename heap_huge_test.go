package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"agentwatch/internal/hugemem"
)

// TestAdviseHugeHeapLeavesFreedAdvisedPages: where the kernel gives huge
// pages on request, the advised range is the block's whole huge pages,
// every mapping over it carries the advice (hg), the block is collected
// and the collector's pacing is as it was.
func TestAdviseHugeHeapLeavesFreedAdvisedPages(t *testing.T) {
	if !hugemem.OnRequest() {
		if r := adviseHugeHeap(); !r.Empty() {
			t.Fatalf("advised [%#x, %#x) where huge pages are not given on request", r.Lo, r.Hi)
		}
		t.Skip("huge pages are not given on request here: nothing to advise")
	}
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	r := adviseHugeHeap()

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if r.Hi-r.Lo < hugeHeapBytes-hugemem.PageSize || r.Lo%hugemem.PageSize != 0 || r.Hi%hugemem.PageSize != 0 {
		t.Fatalf("advised [%#x, %#x): want %d MiB or one huge page less, on huge-page bounds", r.Lo, r.Hi, hugeHeapBytes>>20)
	}
	if ok, err := hugemem.Advised(r); err != nil || !ok {
		t.Errorf("the advised range carries the advice: %v, %v; want true", ok, err)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > hugeHeapBytes/2 {
		t.Errorf("the heap in use grew by %d MiB: the block was not collected", grown>>20)
	}
	if p := debug.SetGCPercent(percent); p != percent {
		t.Errorf("GOGC after adviseHugeHeap: %d, want %d", p, percent)
	}
}
