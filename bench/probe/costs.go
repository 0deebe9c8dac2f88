package main

// costs: what the machine charges for the two things a one-shot check does
// most, a system call and the first touch of a page of memory. On a
// paravirtualised guest both can be ten times what bare metal charges, and
// then the memory a command touches once weighs more than its instructions.

import (
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type costsResult struct {
	SyscallUs float64 `json:"syscall_us"`
	// PageUs is the first write to a 4 KiB page of fresh anonymous memory:
	// the fault, the zeroing, the mapping.
	PageUs float64 `json:"page_us"`
}

// costs times getppid(2) in batches and the first touch of each page of
// fresh mappings, n times each, and gives the medians.
func costs(n int) (any, error) {
	const calls, size = 100_000, 32 << 20
	var sys, page []float64
	for range max(n, 1) {
		start := time.Now()
		for range calls {
			syscall.Getppid()
		}
		sys = append(sys, float64(time.Since(start).Nanoseconds())/calls/1000)

		m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			return nil, err
		}
		smallPages(m)
		start = time.Now()
		for i := 0; i < size; i += 4096 {
			m[i] = 1
		}
		page = append(page, float64(time.Since(start).Nanoseconds())/(size/4096)/1000)
		if err := unix.Munmap(m); err != nil {
			return nil, err
		}
	}
	slices.Sort(sys)
	slices.Sort(page)
	return costsResult{SyscallUs: sys[len(sys)/2], PageUs: page[len(page)/2]}, nil
}
