package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// lateLimit is the memory limit under which a one-shot command runs with
// the collector off: its first collection comes when the runtime holds
// about this much (a heap of some 50 MiB).
const lateLimit = 64 << 20

// oneShotHeap readies the heap of a one-shot command: huge pages where
// the kernel gives them on request (adviseHugeHeap, on the other
// processor while the caller goes on), then collectLate. The caller calls
// ready before it starts its main allocations.
func oneShotHeap() (ready func()) {
	advised := make(chan struct{})
	go func() {
		defer close(advised)
		adviseHugeHeap()
	}()
	return func() {
		<-advised
		collectLate()
	}
}

// collectLate keeps the collector off until the runtime's memory reaches
// lateLimit, then hands it back to its usual pacing. A one-shot command
// keeps almost everything it allocates until it exits (the registries'
// rows, the process table, the report): an early collection frees next to
// nothing, and its marking takes a processor from the scan. A large
// registry still gets a collector as usual past lateLimit. Where GOGC or
// GOMEMLIMIT is set, or the collector is already off or limited (an
// earlier call whose first collection has not come yet), it is left as it
// is.
func collectLate() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	if percent < 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		debug.SetGCPercent(percent)
		return
	}
	limit := debug.SetMemoryLimit(lateLimit)
	// The first collection, made by the limit, finds the marker
	// unreachable and restores the usual pacing.
	marker := new([64]byte)
	runtime.AddCleanup(marker, func(struct{}) {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}, struct{}{})
}
