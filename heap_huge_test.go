package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"unsafe"

	"agentwatch/internal/hugemem"
)

// TestAdviseHugeHeapLeavesFreedAdvisedPages: where the kernel gives huge
// pages on request, the advised range is the block's whole huge pages,
// every mapping over it carries the advice (hg), and the block is
// collected. (In a test process, unlike a check, the block is not fresh
// memory: the advice is what is tested, not the faults it saves.)
func TestAdviseHugeHeapLeavesFreedAdvisedPages(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: the collector is not this test's to settle")
	}
	if !hugemem.OnRequest() || hugemem.PageSize() > hugeHeapBytes/2 {
		if r := adviseHugeHeap(); !r.Empty() {
			t.Fatalf("advised [%#x, %#x) where huge pages are not given on request, or hold little", r.Lo, r.Hi)
		}
		t.Skip("huge pages are not given on request here, or are too big: nothing to advise")
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
}

// oneShotHeapReport is what a fresh process found of oneShotHeap, as a
// check starts with it (reportOneShotHeap).
type oneShotHeapReport struct {
	CyclesBefore uint64 `json:"cycles_before"`
	Cycles       uint64 `json:"cycles"`
	AdvisedBytes uint64 `json:"advised_bytes"`
	Advised      bool   `json:"advised"`
	GOGC         int64  `json:"gogc"`
	Limit        int64  `json:"limit"`
	Buffer       bool   `json:"buffer_advised"`
	Err          string `json:"err,omitempty"`
}

// reportOneShotHeap runs oneShotHeap first thing in a fresh test process
// (TestMain, with AGENTWATCH_TEST_ONESHOT_HEAP=1) and prints what it did.
func reportOneShotHeap() int {
	rep := oneShotHeapReport{CyclesBefore: gcCycles()}
	r := oneShotHeap()()
	rep.Cycles = gcCycles()
	rep.AdvisedBytes = uint64(r.Hi - r.Lo)
	var err error
	if rep.Advised, err = hugemem.Advised(r); err != nil {
		rep.Err = err.Error()
	}
	rep.GOGC, rep.Limit = gcSettings()
	// Bigger than the freed block, so that it is not memory advised there.
	size := hugemem.PageSize()
	b := hugemem.Buffer(hugeHeapBytes + 4*int(size))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	whole := hugemem.Range{Lo: (start + size - 1) &^ (size - 1), Hi: (start + uintptr(cap(b))) &^ (size - 1)}
	rep.Buffer, _ = hugemem.Advised(whole)
	runtime.KeepAlive(b)
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// TestOneShotHeapInAFreshProcess: in a process that has not collected
// yet, as a check starts, oneShotHeap advises hugeHeapBytes of the heap
// with one collection, leaves the collector off under lateLimit, and big
// buffers come advised.
func TestOneShotHeapInAFreshProcess(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: collectLate leaves the collector alone")
	}
	if !hugemem.OnRequest() || hugemem.PageSize() > hugeHeapBytes/2 {
		t.Skip("huge pages are not given on request here, or are too big: nothing to advise")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AGENTWATCH_TEST_ONESHOT_HEAP=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the fresh process: %v\n%s", err, out)
	}
	var rep oneShotHeapReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("its report %q: %v", out, err)
	}
	if rep.CyclesBefore != 0 {
		t.Fatalf("the fresh process had collected %d times before oneShotHeap: nothing left to test", rep.CyclesBefore)
	}
	if rep.AdvisedBytes < hugeHeapBytes-uint64(hugemem.PageSize()) || !rep.Advised || rep.Err != "" {
		t.Errorf("advised %d bytes (carrying the advice: %v %s); want %d", rep.AdvisedBytes, rep.Advised, rep.Err, hugeHeapBytes)
	}
	if rep.Cycles != 1 {
		t.Errorf("%d collections after oneShotHeap; want the one that frees the block", rep.Cycles)
	}
	if rep.GOGC != -1 || rep.Limit != lateLimit {
		t.Errorf("after oneShotHeap: GOGC %d, limit %d; want off, %d", rep.GOGC, rep.Limit, lateLimit)
	}
	if !rep.Buffer {
		t.Error("a big buffer after oneShotHeap is not advised")
	}
}
