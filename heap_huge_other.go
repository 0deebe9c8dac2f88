//go:build !linux

package main

// adviseHugeHeap advises nothing where there are no transparent huge
// pages to ask for.
func adviseHugeHeap() (lo, hi uintptr) { return 0, 0 }
