// Package hugemem asks the kernel to back memory that is about to be
// touched for the first time with transparent huge pages: one fault for
// each 2 MiB instead of one for each 4 KiB page. On a virtual machine a
// fault costs some 13 µs, so filling a fresh 24 MiB buffer costs more in
// faults than in copying; with huge pages, a few hundred µs.
//
// It acts only where the kernel gives huge pages on request ("[madvise]"
// in /sys/kernel/mm/transparent_hugepage/enabled): under "always" memory
// gets them already, under "never" it cannot, and elsewhere than Linux
// there is nothing to ask. GODEBUG=disablethp=1, which keeps the Go
// runtime from huge pages, keeps this package from them too.
package hugemem

// PageSize is a transparent huge page: one PMD on x86-64 and on arm64
// with 4 KiB pages.
const PageSize = 2 << 20

// Threshold is the least capacity Buffer advises: below two huge pages a
// buffer may hold no whole one.
const Threshold = 2 * PageSize

// Buffer returns an empty slice of the given capacity. At Threshold or
// more, its whole huge pages are advised before anything touches them.
func Buffer(capacity int) []byte {
	b := make([]byte, 0, capacity)
	if capacity >= Threshold && OnRequest() {
		Advise(b[:capacity])
	}
	return b
}

// Range is the advised part of a block of memory: its whole huge pages.
type Range struct{ Lo, Hi uintptr }

// Empty reports that nothing was advised.
func (r Range) Empty() bool { return r.Hi <= r.Lo }
