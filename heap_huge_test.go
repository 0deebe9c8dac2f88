package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"agentwatch/internal/hugemem"
)

// TestAdviseHugeHeapLeavesFreedAdvisedPages: where the kernel gives huge
// pages on request, the advised range is the block's whole huge pages,
// every mapping over it carries the advice (hg), and the block is
// collected. (In a test process, unlike a check, the block is not fresh
// memory: the advice is what is tested, not the faults it saves.)
func TestAdviseHugeHeapLeavesFreedAdvisedPages(t *testing.T) {
	if !hugemem.OnRequest() {
		if r := adviseHugeHeap(); !r.Empty() {
			t.Fatalf("advised [%#x, %#x) where huge pages are not given on request", r.Lo, r.Hi)
		}
		t.Skip("huge pages are not given on request here: nothing to advise")
	}
	untilSettled(t)
	percent := debug.SetGCPercent(-1) // as collectLate calls it
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.FreeOSMemory() // the freed block, for the tests after
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	r := adviseHugeHeap()

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	size := hugemem.PageSize()
	if r.Hi-r.Lo < hugeHeapBytes-size || r.Lo%size != 0 || r.Hi%size != 0 {
		t.Fatalf("advised [%#x, %#x): want %d MiB or one huge page less, on huge-page bounds", r.Lo, r.Hi, hugeHeapBytes>>20)
	}
	if ok, err := hugemem.Advised(r); err != nil || !ok {
		t.Errorf("the advised range carries the advice: %v, %v; want true", ok, err)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > hugeHeapBytes/2 {
		t.Errorf("the heap in use grew by %d MiB: the block was not collected", grown>>20)
	}
	if p, _ := gcSettings(); p != -1 {
		t.Errorf("GOGC after adviseHugeHeap: %d, want it left off", p)
	}
}
