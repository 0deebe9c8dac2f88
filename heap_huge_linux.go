package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"unsafe"
)

// thpEnabledPath says when Linux backs anonymous memory with transparent
// huge pages: always, never, or [madvise] — only where a process asks.
const thpEnabledPath = "/sys/kernel/mm/transparent_hugepage/enabled"

// hugePage is the size of a transparent huge page on the platforms Go
// runs Linux on with 4 KiB pages (x86-64, arm64): one PMD.
const hugePage = 2 << 20

// hugeHeapBytes is how much of its heap a one-shot command asks to have
// backed by huge pages. A check of 10,000 agents, 200 sessions and 1,000
// processes fills some 25 MiB; half of lateLimit also keeps the freed
// block clear of the limit's scavenging.
const hugeHeapBytes = lateLimit / 2

// adviseHugeHeap asks the kernel to back the next hugeHeapBytes of the
// heap with huge pages, where it gives them only on request. A one-shot
// command touches almost every page it allocates once: each first touch
// of a 4 KiB page is a fault (some 13 µs on a virtual machine), and a
// check of a large fleet makes over 5,000 of them; a 2 MiB page is one.
//
// The runtime maps its heap without that advice, and a new mapping never
// inherits it, so the advice goes to pages the runtime has mapped and
// not yet used: with the collector paused, one block of hugeHeapBytes is
// allocated (fresh, untouched memory), advised, dropped and collected.
// The freed pages stay mapped, advised, and the runtime fills them
// lowest address first with what the command allocates next.
//
// It returns the advised range, empty where nothing was advised: the
// kernel's mode is not [madvise] (always: the heap gets huge pages
// already; never: it cannot), or GODEBUG has disablethp=1.
func adviseHugeHeap() (lo, hi uintptr) {
	mode, err := os.ReadFile(thpEnabledPath)
	if err != nil || thpMode(mode) != "madvise" || godebugDisablesTHP(os.Getenv("GODEBUG")) {
		return 0, 0
	}
	// No collection while the block is held: it would find it live and
	// only cost a cycle before the forced one.
	percent := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(percent)

	block := make([]byte, hugeHeapBytes)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(block)))
	lo = (start + hugePage - 1) &^ (hugePage - 1)
	hi = (start + hugeHeapBytes) &^ (hugePage - 1)
	if hi <= lo || syscall.Madvise(block[lo-start:hi-start], syscall.MADV_HUGEPAGE) != nil {
		lo, hi = 0, 0
	}
	// The block is dead past here: the collection frees it.
	runtime.GC()
	return lo, hi
}

// thpMode is the bracketed word of thpEnabledPath's contents.
func thpMode(b []byte) string {
	_, after, ok := bytes.Cut(b, []byte("["))
	if !ok {
		return ""
	}
	word, _, ok := bytes.Cut(after, []byte("]"))
	if !ok {
		return ""
	}
	return string(word)
}

// godebugDisablesTHP reports whether GODEBUG turns the runtime's own use
// of huge pages off: agentwatch then asks for none either.
func godebugDisablesTHP(godebug string) bool {
	on := false
	for setting := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(setting, "disablethp="); ok {
			on = v == "1" // the last setting wins, as in the runtime
		}
	}
	return on
}
