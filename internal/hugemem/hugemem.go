// Package hugemem asks the kernel to back memory that is about to be
// touched for the first time with transparent huge pages: one fault for
// each huge page (2 MiB on x86-64) instead of one for each 4 KiB page. On
// a virtual machine a fault costs some 13 µs, so filling a fresh 24 MiB
// buffer costs more in faults than in copying.
//
// It acts only where the kernel gives huge pages on request ("[madvise]"
// in /sys/kernel/mm/transparent_hugepage/enabled): under "always" memory
// gets them already, under "never" it cannot, and elsewhere than Linux
// there is nothing to ask. GODEBUG=disablethp=1, which keeps the Go
// runtime from huge pages, keeps this package from them too.
//
// Only a short-lived process should ask: in one that runs for hours, the
// kernel may later fill in a sparse advised region whole (khugepaged), or
// stall a fault to compact memory for a huge page. Buffer advises only
// after Enable.
package hugemem

import "sync/atomic"

var enabled atomic.Bool

// Enable lets Buffer advise. A one-shot command calls it; the TUI and the
// metrics server, which run for hours, do not.
func Enable() { enabled.Store(true) }

// Threshold is the least capacity Buffer advises: below two huge pages a
// buffer may hold no whole one.
func Threshold() int { return 2 * int(PageSize()) }

// Buffer returns an empty slice of the given capacity. At Threshold or
// more, once Enable was called, its whole huge pages are advised; memory
// the runtime hands out fresh has not been touched yet, so they come in
// as huge pages (memory it reuses was touched before: the advice changes
// nothing there).
func Buffer(capacity int) []byte {
	b := make([]byte, 0, capacity)
	if advises(capacity) {
		Advise(b[:capacity])
	}
	return b
}

// advises reports whether Buffer advises a buffer of that capacity.
func advises(capacity int) bool {
	return enabled.Load() && capacity >= Threshold() && OnRequest()
}

// Range is the advised part of a block of memory: its whole huge pages.
type Range struct{ Lo, Hi uintptr }

// Empty reports that nothing was advised.
func (r Range) Empty() bool { return r.Hi <= r.Lo }
