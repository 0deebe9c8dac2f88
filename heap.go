package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// startingHeap is how far a one-shot command's heap grows before its
// first collection.
const startingHeap = 64 << 20

// collectLate keeps the collector off until the heap reaches startingHeap,
// then hands it back to its usual pacing. A one-shot command keeps almost
// everything it allocates until it exits (the registries' rows, the process
// table, the report): an early collection frees next to nothing, and its
// marking takes a processor from the scan. A large registry still gets a
// collector as usual past startingHeap. Where GOGC or GOMEMLIMIT is set,
// the collector is left as it says.
func collectLate() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(startingHeap)
	// The first collection, made by the limit, finds the marker
	// unreachable and restores the usual pacing.
	marker := new([64]byte)
	runtime.AddCleanup(marker, func(struct{}) {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}, struct{}{})
}
