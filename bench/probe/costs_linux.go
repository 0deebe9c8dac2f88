package main

import "golang.org/x/sys/unix"

// smallPages keeps m in 4 KiB pages where transparent huge pages are on
// for every mapping.
func smallPages(m []byte) { _ = unix.Madvise(m, unix.MADV_NOHUGEPAGE) }
