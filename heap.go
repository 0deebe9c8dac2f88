package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"agentwatch/internal/hugemem"
)

// lateLimit is the memory limit under which a one-shot command runs with
// the collector off: its first collection comes when the runtime holds
// about this much (a heap of some 50 MiB).
const lateLimit = 64 << 20

// oneShotHeap readies the heap of a one-shot command on the other
// processor while the caller goes on: collectLate, over huge pages where
// the kernel gives them on request, and big buffers advised (hugemem).
// ready waits for it, and returns the heap's advised range (empty where
// none was); the caller calls it before its main allocations.
func oneShotHeap() (ready func() hugemem.Range) {
	hugemem.Enable()
	done := make(chan hugemem.Range, 1)
	go func() { done <- collectLate(true) }()
	return func() hugemem.Range { return <-done }
}

// hugeHeapBytes is how much of its heap a one-shot command asks to have
// backed by huge pages. A check of 10,000 agents, 200 sessions and 1,000
// processes fills some 25 MiB; half of lateLimit also keeps the freed
// block clear of the limit's scavenging.
const hugeHeapBytes = lateLimit / 2

// adviseHugeHeap asks for huge pages over the next hugeHeapBytes of the
// heap, where the kernel gives them only on request (hugemem). A
// one-shot command touches almost every page it allocates once: a check
// of a large fleet made over 5,000 faults of 4 KiB pages.
//
// The runtime maps its heap without that advice, and a new mapping never
// inherits it, so the advice goes to pages the runtime has mapped and
// nothing has used: one block of hugeHeapBytes is allocated, advised,
// dropped and collected. The freed pages stay mapped, advised, and the
// runtime fills them lowest address first with what the command
// allocates next. The block is fresh memory only before the first
// collection (after it, freed pages are zeroed for it, 4 KiB at a time,
// before the advice), and the collector should be off: a collection
// while the block is held would only cost a cycle.
// It returns the advised range, empty where nothing was advised.
func adviseHugeHeap() hugemem.Range {
	if !hugemem.OnRequest() || hugemem.PageSize() > hugeHeapBytes/2 {
		// Pages that big (arm64 with 64 KiB base pages has 512 MiB ones)
		// would hold little of the block.
		return hugemem.Range{}
	}
	r := hugemem.Advise(make([]byte, hugeHeapBytes))
	runtime.GC() // the block is dead: this frees it
	return r
}

// gcCycles is how many collections this process has finished.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// collectLate keeps the collector off until the runtime's memory reaches
// lateLimit, then hands it back to its usual pacing. A one-shot command
// keeps almost everything it allocates until it exits (the registries'
// rows, the process table, the report): an early collection frees next to
// nothing, and its marking takes a processor from the scan. A large
// registry still gets a collector as usual past lateLimit. Where GOGC or
// GOMEMLIMIT is set, an earlier call's first collection has not come yet,
// or someone else has turned the collector off or limited it, it is left
// as it is. With hugePages, and no collection yet, the heap is first given
// huge pages (adviseHugeHeap), while the collector is off and before the
// marker exists: the forced collection hands nothing back. It returns
// the heap's advised range, empty where none was.
func collectLate(hugePages bool) (advised hugemem.Range) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return advised
	}
	// late.pending, not the collector's settings, says whether an earlier
	// call's restore is still to come: that restore runs on a goroutine of
	// its own, and could land between reading the settings here and
	// putting them back.
	late.Lock()
	defer late.Unlock()
	if late.pending {
		return advised
	}
	percent := debug.SetGCPercent(-1)
	if percent < 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		debug.SetGCPercent(percent) // someone else's settings
		return advised
	}
	if hugePages && gcCycles() == 0 {
		advised = adviseHugeHeap()
	}
	limit := debug.SetMemoryLimit(lateLimit)
	late.pending = true
	// The first collection, made by the limit, finds the marker
	// unreachable and restores the usual pacing.
	marker := new([64]byte)
	runtime.AddCleanup(marker, func(struct{}) {
		late.Lock()
		defer late.Unlock()
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
		late.pending = false
	}, struct{}{})
	return advised
}

// late is collectLate's state: whether the collector is off waiting for
// its first collection.
var late struct {
	sync.Mutex
	pending bool
}
